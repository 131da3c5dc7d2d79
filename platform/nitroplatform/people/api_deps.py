"""Dependencies and error mapping shared by the people-side route modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from nitroplatform.people.config import PeopleSettings, get_people_settings
from nitroplatform.people.service import ConflictError, NotFoundError


def get_people_settings_dep(request: Request) -> PeopleSettings:
    """The app's people settings: ``app.state.people_settings`` if a test or the factory set it, else the env."""
    settings = getattr(request.app.state, "people_settings", None)
    if settings is None:
        return get_people_settings()
    if not isinstance(settings, PeopleSettings):
        raise TypeError(f"app.state.people_settings must be PeopleSettings, got {type(settings).__name__}")
    return settings


PeopleSettingsDep = Annotated[PeopleSettings, Depends(get_people_settings_dep)]


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the service layer's exceptions into the API's one error style (HTTPException).

    NotFoundError → 404, ConflictError → 409, any other ValueError (a rule the input broke) → 422.
    """
    try:
        yield
    except NotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except ConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
