"""A minimal server-rendered live incident page for operators and the end-to-end demo.

It lists open incidents and updates from ``/api/v1/stream``. It shows what an officer needs (camera, zone,
confidence, people bucket, times, state) and nothing else: there is no image to show, by design. Each
opening of the page is audited (``live.view``); its stream is audited when it opens (``stream.open``).
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nitroplatform.api.deps import SessionDep
from nitroplatform.api.schemas import IncidentOut
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import OptionalUser
from nitroplatform.auth.scope import visible_camera_ids
from nitroplatform.incidents.queries import list_incidents

router = APIRouter(tags=["live"], include_in_schema=False)

CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'none'; connect-src 'self'"
COLUMNS = ("opened_at", "camera_id", "zone", "state", "confidence", "people_involved", "alert_count", "model_version")

LIVE_JS_TEMPLATE = """
"use strict";
const COLUMNS = __COLUMNS__;
const body = document.getElementById("incidents");
const status = document.getElementById("status");
function render(incident) {
  let row = document.getElementById("incident-" + incident.id);
  if (!row) {
    row = document.createElement("tr");
    row.id = "incident-" + incident.id;
    body.prepend(row);
  }
  row.replaceChildren(...COLUMNS.map((name) => {
    const cell = document.createElement("td");
    cell.textContent = incident[name] === null ? "" : String(incident[name]);
    return cell;
  }));
  row.dataset.state = incident.state;
}
const source = new EventSource("/api/v1/stream");
source.addEventListener("open", () => { status.textContent = "live"; });
source.addEventListener("error", () => { status.textContent = "reconnecting"; });
source.addEventListener("incident", (message) => render(JSON.parse(message.data)));
source.addEventListener("resync", () => window.location.reload());
// The platform ends the stream when the session ends or the scope changes: reload (the login page, or the
// list with the new scope) instead of letting EventSource retry.
source.addEventListener("end", () => { source.close(); window.location.reload(); });
"""
LIVE_JS = LIVE_JS_TEMPLATE.replace("__COLUMNS__", json.dumps(list(COLUMNS)))


def _row(incident: IncidentOut) -> str:
    data = incident.model_dump(mode="json")
    cells = "".join(f"<td>{escape('' if data[name] is None else str(data[name]))}</td>" for name in COLUMNS)
    return f'<tr id="incident-{incident.id}" data-state="{escape(incident.state.value)}">{cells}</tr>'


@router.get("/live", response_class=HTMLResponse, summary="Live incident page")
def live_page(user: OptionalUser, session: SessionDep) -> Response:
    """The live page for a logged-in user; others are sent to the web app's login."""
    if user is None:
        return RedirectResponse("/app/login?next=/live", status_code=303)
    visible = visible_camera_ids(user, session)
    rows = list_incidents(session, state="open", camera_ids=visible, limit=200)
    record(
        session,
        actor=user.username,
        action="live.view",
        target_type="incident_list",
        target_id="open",
        detail={"scope": "all" if visible is None else "cameras", "count": len(rows)},
    )
    session.commit()
    table_rows = "\n".join(_row(IncidentOut.model_validate(row)) for row in rows)
    header = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in COLUMNS)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nitrosignal - live incidents</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:1rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}}tr[data-state=closed]{{color:#888}}</style>
</head><body>
<h1>Live incidents <small id="status">connecting</small></h1>
<p>Signed in as {escape(user.display_name or user.username)}. Anonymous signals only: no images exist.</p>
<table><thead><tr>{header}</tr></thead><tbody id="incidents">
{table_rows}
</tbody></table>
<script src="/live/live.js"></script>
</body></html>"""
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})


@router.get("/live/live.js", summary="Script of the live page")
def live_script() -> Response:
    """The few lines of JavaScript that follow the SSE stream."""
    return Response(LIVE_JS, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})
