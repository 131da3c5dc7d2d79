"""Serves the officer web app: the app shell, its static files, the service worker and the manifest.

The app is plain HTML, CSS and ES modules with no build step. Every deep link under ``/app/`` returns the
same shell; the client-side router picks the view. Nothing here talks to an external host: the only
optional outside resource is a map tile server, and only when an operator configures one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

WEB_DIR: Final = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR: Final = WEB_DIR / "static"
I18N_DIR: Final = WEB_DIR / "i18n"
LANGUAGES: Final = ("nl", "en")
TILE_URL_ENV: Final = "NITROSIGNAL_MAP_TILE_URL"

MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}

# Revalidate every time: the service worker keeps an offline copy, the network copy is always current.
NO_CACHE: Final = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["webapp"], include_in_schema=False)


def configured_tile_url(request: Request) -> str | None:
    """The map tile URL template an operator configured, or ``None`` (the default: no tile server).

    Read from the platform settings (``map_tile_url``) when that field exists, else from the
    ``NITROSIGNAL_MAP_TILE_URL`` environment variable. The template uses ``{z}``, ``{x}`` and ``{y}``.
    """
    settings = getattr(request.app.state, "settings", None)
    value = getattr(settings, "map_tile_url", None) or os.environ.get(TILE_URL_ENV) or None
    return str(value) if value else None


def content_security_policy(tile_url: str | None) -> str:
    """A strict CSP for the shell: same origin only, plus the tile server's origin when configured."""
    img_sources = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url)
        if parts.scheme in ("https", "http") and parts.netloc:
            img_sources += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img_sources}; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def _static_file(directory: Path, relative: str) -> Path:
    """Resolve ``relative`` inside ``directory``; anything outside it, or missing, is a 404."""
    try:
        candidate = (directory / relative).resolve()
    except (ValueError, OSError):  # an embedded NUL byte, a name too long: not a file we serve
        raise HTTPException(status_code=404, detail="not found") from None
    if not candidate.is_relative_to(directory.resolve()) or not candidate.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return candidate


def _file_response(path: Path, extra_headers: dict[str, str] | None = None) -> FileResponse:
    headers = dict(NO_CACHE)
    headers["X-Content-Type-Options"] = "nosniff"
    if extra_headers:
        headers.update(extra_headers)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"), headers=headers)


@router.get("/")
def root() -> RedirectResponse:
    """The root of the platform opens the officer app."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app")
def app_without_slash() -> RedirectResponse:
    """``/app`` and ``/app/`` are the same place."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/config.json")
def app_config(request: Request) -> JSONResponse:
    """Client configuration: languages and the optional map tile server (none by default)."""
    body = {"languages": list(LANGUAGES), "default_language": LANGUAGES[0], "tile_url": configured_tile_url(request)}
    return JSONResponse(body, headers=NO_CACHE)


@router.get("/app/")
@router.get("/app/{deep_link:path}")
def app_shell(request: Request, deep_link: str = "") -> Response:
    """The app shell for ``/app/`` and every deep link under it, such as ``/app/incidents/{id}``."""
    del deep_link  # the client-side router reads the path
    shell = STATIC_DIR / "index.html"
    csp = content_security_policy(configured_tile_url(request))
    return _file_response(shell, {"Content-Security-Policy": csp, "Referrer-Policy": "no-referrer"})


@router.get("/static/{relative:path}")
def static_file(relative: str) -> FileResponse:
    """Scripts, styles and icons of the app."""
    return _file_response(_static_file(STATIC_DIR, relative))


@router.get("/i18n/{language}.json")
def message_catalog(language: str) -> FileResponse:
    """The message catalog for one language (``nl`` or ``en``)."""
    if language not in LANGUAGES:
        raise HTTPException(status_code=404, detail=f"language must be one of {', '.join(LANGUAGES)}")
    return _file_response(I18N_DIR / f"{language}.json")


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The service worker, served from the root so that it may control the whole origin."""
    return _file_response(STATIC_DIR / "sw.js", {"Service-Worker-Allowed": "/"})


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    """The web app manifest, so officers can install the app on the home screen."""
    return _file_response(STATIC_DIR / "manifest.webmanifest")
