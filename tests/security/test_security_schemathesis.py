"""Schemathesis against the platform's own OpenAPI spec, served on loopback, authenticated as each role.

For every operation in the spec and every role (officer, coordinator, privacy officer, ML engineer, admin,
auditor), hypothesis generates a few requests from the schema; each response must not be a 5xx and must
conform to the documented response schema. Kept small for CI (``MAX_EXAMPLES`` per operation and role);
raise it locally with NITROSIGNAL_SCHEMATHESIS_EXAMPLES=50. The SSE stream is excluded: it never ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.launcher import PlatformThread
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.service import create_user
from nitroplatform.settings import Settings

MAX_EXAMPLES = int(os.environ.get("NITROSIGNAL_SCHEMATHESIS_EXAMPLES", "3"))
# Never-ending responses (SSE); a fuzzer cannot wait for their end.
EXCLUDED_PATHS = {"/api/v1/stream"}


def _tokens(factory: sessionmaker[Session]) -> dict[str, dict[str, str]]:
    headers = {}
    with factory() as session:
        for role in Role:
            username = f"fuzz-{role.value.replace('_', '-')}"
            user = create_user(session, username=username, password=None, roles=[role], actor="test")
            headers[role.value] = {"Authorization": f"Bearer {issue_token(session, user_id=user.id, name='fuzz').raw}"}
        session.commit()
    return headers


@pytest.mark.slow
def test_openapi_spec_no_5xx_and_schema_conformance_for_every_role(
    settings_factory: Callable[..., Settings], session_factory: sessionmaker[Session]
) -> None:
    # A real server on loopback: schemathesis' in-process ASGI transport runs the app's lifespan per request.
    platform = PlatformThread(settings_factory(), with_ingest=False)
    # Generous login limits: the fuzzer sends many bad logins, and a lockout would only hide other answers.
    platform.app.state.people_settings = PeopleSettings(login_free_failures=10_000, login_free_failures_client=10_000)
    headers_by_role = _tokens(session_factory)
    failures: list[str] = []
    with platform, requests.Session() as http:
        schema = schemathesis.openapi.from_url(f"{platform.base_url}/openapi.json")
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the spec does not load: {result}"  # an invalid spec is a failure too
            if result.ok().path not in EXCLUDED_PATHS:
                operations.append(result.ok())
        assert len(operations) > 40, f"only {len(operations)} operations in the spec"
        for operation in operations:
            strategy = operation.as_strategy()
            for role, headers in sorted(headers_by_role.items()):
                try:
                    _fuzz(strategy, platform.base_url, http, headers)
                except (Exception, BaseExceptionGroup) as error:  # collect: one report lists every failure
                    failures.append(f"{operation.method.upper()} {operation.path} as {role}: {str(error)[:400]}")
    assert not failures, "\n".join(failures)


def _fuzz(
    strategy: st.SearchStrategy[schemathesis.Case[Any]], base_url: str, http: requests.Session, headers: dict[str, str]
) -> None:
    """Run ``MAX_EXAMPLES`` generated requests of one operation with ``headers``; raise on the first failure."""

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, session=http, headers=headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    one()
