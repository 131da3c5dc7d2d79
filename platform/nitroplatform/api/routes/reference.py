"""GET /docs: the API reference as one self-contained HTML page, rendered here from the OpenAPI document.

FastAPI's Swagger UI and ReDoc pages load their scripts from a public CDN. On a municipal network without
internet they stay blank, and where they do load, every reader's browser tells a third party that it is
reading this platform's documentation. This page needs nothing from outside, runs no script, and gets the
platform's normal Content-Security-Policy. The machine-readable document stays at ``/openapi.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

router = APIRouter()

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_METHODS = ("get", "post", "put", "patch", "delete")
_REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Entry:
    """One parameter or property: where it goes, its type in words, and what it means."""

    name: str
    location: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    """One method on one path."""

    anchor: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Entry]
    body: str | None
    responses: list[tuple[str, str, str]]


@dataclass(frozen=True)
class Schema:
    """One named model of ``components.schemas``."""

    name: str
    description: str
    properties: list[Entry]


def type_words(schema: dict[str, Any]) -> str:
    """A JSON schema's type as a short phrase: ``IncidentOut``, ``array of string``, ``string | null``."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(_REF_PREFIX)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(type_words(part) for part in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    if "const" in schema:
        return f"always {schema['const']}"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_words(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {type_words(schema['additionalProperties'])}"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _body(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    for media_type, spec in content.items():
        return f"{media_type}: {type_words(spec.get('schema', {}))}"
    return None


def _responses(operation: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for code, spec in operation.get("responses", {}).items():
        content = spec.get("content", {})
        schema = next((type_words(media.get("schema", {})) for media in content.values()), "")
        found.append((str(code), str(spec.get("description", "")), schema))
    return found


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document, in path order."""
    found = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method in _METHODS:
            if method not in item:
                continue
            operation = item[method]
            parameters = [
                Entry(
                    name=str(parameter["name"]),
                    location=str(parameter.get("in", "")),
                    type=type_words(parameter.get("schema", {})),
                    required=bool(parameter.get("required", False)),
                    description=str(parameter.get("description", "")),
                )
                for parameter in operation.get("parameters", [])
            ]
            found.append(
                Operation(
                    anchor=f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    method=method.upper(),
                    path=path,
                    summary=str(operation.get("summary", "")),
                    description=str(operation.get("description", "")),
                    parameters=parameters,
                    body=_body(operation),
                    responses=_responses(operation),
                )
            )
    return found


def schemas(document: dict[str, Any]) -> list[Schema]:
    """The named models of an OpenAPI document, by name."""
    found = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        properties = [
            Entry(
                name=prop_name,
                location="",
                type=type_words(prop),
                required=prop_name in required,
                description=str(prop.get("description", "")),
            )
            for prop_name, prop in schema.get("properties", {}).items()
        ]
        found.append(Schema(name=name, description=str(schema.get("description", "")), properties=properties))
    return found


@cache
def _template() -> Template:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return environment.get_template("reference.html")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def reference(request: Request) -> HTMLResponse:
    """The API reference, rendered from this app's own OpenAPI document."""
    document = request.app.openapi()
    info = document.get("info", {})
    html = _template().render(
        title=info.get("title", ""),
        version=info.get("version", ""),
        description=info.get("description", ""),
        operations=operations(document),
        schemas=schemas(document),
    )
    return HTMLResponse(html)
