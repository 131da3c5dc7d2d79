"""``nitrosignal platform user|team|audit|retention``: manage accounts and teams from the shell.

The integrator mounts ``user_app`` as ``nitrosignal platform user`` and ``team_app`` as
``nitrosignal platform team`` (``app`` holds all groups for standalone use). Passwords are read from a
hidden prompt or, for scripts, from stdin (``--password-stdin``); never from the command line, where
they would end up in shell history and the process list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
from sqlalchemy.orm import Session

from nitroplatform.api.errors import DomainError
from nitroplatform.auth.deps import Role
from nitroplatform.auth.passwords import WeakPasswordError
from nitroplatform.auth.tokens import MAX_TOKEN_LIFETIME, TOKEN_SCOPES, issue_token
from nitroplatform.db.engine import make_engine
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.settings import get_settings

CLI_ACTOR = "cli"

app = typer.Typer(help="Users, teams, audit log and retention.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Create and manage user accounts, roles and API tokens.", no_args_is_help=True)
team_app = typer.Typer(help="Create teams and manage their members, areas and shifts.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the tamper-evident audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
app.add_typer(audit_app, name="audit")


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(get_settings().effective_database_url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as session:
            try:
                yield session
            except (DomainError, WeakPasswordError, ValueError) as error:
                session.rollback()
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(code=1) from error
    finally:
        engine.dispose()


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    return value


def _roles(values: list[str]) -> list[Role]:
    try:
        return [Role(value) for value in values]
    except ValueError as error:
        raise typer.BadParameter(f"roles are {', '.join(role.value for role in Role)}") from error


@user_app.command("add")
def user_add(
    username: str = typer.Argument(help="Login name (lowercase letters, digits, . _ -)."),
    role: list[str] = typer.Option(..., "--role", "-r", help="Role to grant; repeat for several."),
    display_name: str = typer.Option("", help="Name shown in the app."),
    service_account: bool = typer.Option(False, help="No password: the account signs in only with API tokens."),
    password_stdin: bool = typer.Option(False, help="Read the password from the first line of stdin."),
) -> None:
    """Create a user with one or more roles."""
    roles = _roles(role)
    password = None if service_account else _password(password_stdin)
    from nitroplatform.people.service import create_user

    with _session() as db:
        user = create_user(
            db, username=username, password=password, roles=roles, display_name=display_name, actor=CLI_ACTOR
        )
        db.commit()
        typer.echo(f"created user {user.username} with roles {', '.join(sorted(r.value for r in roles))}")


@user_app.command("list")
def user_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List users with their roles and whether they are active."""
    from nitroplatform.people.service import list_users

    with _session() as db:
        rows = [
            {
                "username": user.username,
                "active": user.active,
                "roles": sorted(grant.role for grant in user.grants),
                "teams": sorted(membership.team_id for membership in user.memberships),
            }
            for user in list_users(db)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "" if row["active"] else " (inactive)"
        roles = row["roles"]
        typer.echo(f"{row['username']}{state}: {', '.join(roles) if isinstance(roles, list) else ''}")


@user_app.command("passwd")
def user_passwd(
    username: str = typer.Argument(help="Whose password to set."),
    password_stdin: bool = typer.Option(False, help="Read the password from the first line of stdin."),
) -> None:
    """Set a user's password; all their sessions end."""
    from nitroplatform.people.service import set_password

    password = _password(password_stdin)
    with _session() as db:
        set_password(db, username=username, password=password, actor=CLI_ACTOR)
        db.commit()
    typer.echo(f"password of {username} changed; their sessions were ended")


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _lifetime(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m`` or ``600s`` as a timedelta within a token's allowed life."""
    number, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not number.isdigit():
        raise typer.BadParameter(f"expected a number with d, h, m or s (e.g. 90d or 12h), got {text!r}")
    lifetime = timedelta(seconds=int(number) * _UNITS[unit])
    if not timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
        raise typer.BadParameter(f"a token lives at most {MAX_TOKEN_LIFETIME.days} days, asked {text}")
    return lifetime


@user_app.command("token")
def user_token(
    username: str = typer.Argument(help="The user the token acts as."),
    name: str = typer.Option(..., help="What the token is for, e.g. 'camera-12 model fetch'."),
    scope: str = typer.Option("full", help=f"One of {', '.join(TOKEN_SCOPES)}; models:fetch is for devices."),
    expires_in: str = typer.Option(
        "90d", help="How long the token lives: a number with d, h, m or s (90d at most), e.g. 12h."
    ),
) -> None:
    """Create an API token and print it once (it is stored only as a hash). Every token expires."""
    if scope not in TOKEN_SCOPES:
        raise typer.BadParameter(f"scope must be one of {', '.join(TOKEN_SCOPES)}")
    lifetime = _lifetime(expires_in)
    from nitroplatform.audit.chain import record
    from nitroplatform.people.service import get_user

    with _session() as db:
        user = get_user(db, username=username)
        issued = issue_token(db, user_id=user.id, name=name, scope=scope, lifetime=lifetime)
        record(
            db,
            actor=CLI_ACTOR,
            action="token.create",
            target_type="user",
            target_id=username,
            detail={"token_id": issued.id, "scope": scope},
        )
        db.commit()
    typer.echo(issued.raw)


@user_app.command("deactivate")
def user_deactivate(username: str = typer.Argument(help="Who to lock out.")) -> None:
    """Deactivate a user: sessions end and tokens stop working."""
    from nitroplatform.people.service import set_active

    with _session() as db:
        set_active(db, username=username, active=False, actor=CLI_ACTOR)
        db.commit()
    typer.echo(f"{username} deactivated")


@team_app.command("add")
def team_add(
    name: str = typer.Argument(help="Team name."),
    description: str = typer.Option("", help="What the team covers."),
    escalate_to: str | None = typer.Option(None, help="Team that gets unclaimed incidents next (else coordinators)."),
    escalate_after_s: int = typer.Option(120, help="Seconds an incident may stay unclaimed before escalating."),
) -> None:
    """Create a team."""
    from nitroplatform.people.service import create_team, find_team

    with _session() as db:
        target = find_team(db, name=escalate_to).id if escalate_to else None
        team = create_team(
            db,
            name=name,
            description=description,
            escalate_to_team_id=target,
            escalate_after_s=escalate_after_s,
            actor=CLI_ACTOR,
        )
        db.commit()
        typer.echo(f"created team {team.name} (id {team.id})")


@team_app.command("member")
def team_member(
    team: str = typer.Argument(help="Team name."),
    username: str = typer.Argument(help="User to add."),
    remove: bool = typer.Option(False, "--remove", help="Remove instead of add."),
) -> None:
    """Add a user to a team (or remove with --remove)."""
    from nitroplatform.people.service import add_member, find_team, remove_member

    with _session() as db:
        team_id = find_team(db, name=team).id
        if remove:
            remove_member(db, team_id=team_id, username=username, actor=CLI_ACTOR)
        else:
            add_member(db, team_id=team_id, username=username, actor=CLI_ACTOR)
        db.commit()
    typer.echo(f"{'removed' if remove else 'added'} {username} {'from' if remove else 'to'} {team}")


@team_app.command("area")
def team_area(
    team: str = typer.Argument(help="Team name."),
    name: str = typer.Argument(help="Area name."),
    camera: list[str] = typer.Option(..., "--camera", "-c", help="Camera id in the area; repeat for several."),
) -> None:
    """Give a team an area of cameras."""
    from nitroplatform.people.service import add_area, find_team

    with _session() as db:
        add_area(db, team_id=find_team(db, name=team).id, name=name, camera_ids=camera, actor=CLI_ACTOR)
        db.commit()
    typer.echo(f"area {name} with {len(camera)} camera(s) added to {team}")


@team_app.command("shift")
def team_shift(
    team: str = typer.Argument(help="Team name."),
    weekdays: str = typer.Option(..., help="ISO weekdays the shift starts on, e.g. 5,6 for Friday and Saturday."),
    start: str = typer.Option(..., help="Start, HH:MM local time."),
    end: str = typer.Option(..., help="End, HH:MM local time (before start: runs over midnight)."),
) -> None:
    """Add a weekly shift to a team."""
    from nitroplatform.people.schemas import hhmm_to_minute
    from nitroplatform.people.service import add_shift, find_team

    try:
        days = [int(day) for day in weekdays.split(",")]
        start_minute, end_minute = hhmm_to_minute(start), hhmm_to_minute(end)
    except ValueError as error:
        raise typer.BadParameter(f"weekdays like 5,6 and times like 22:00: {error}") from error
    with _session() as db:
        add_shift(
            db,
            team_id=find_team(db, name=team).id,
            weekdays=days,
            start_minute=start_minute,
            end_minute=end_minute,
            actor=CLI_ACTOR,
        )
        db.commit()
    typer.echo(f"shift {weekdays} {start}-{end} added to {team}")


@team_app.command("list")
def team_list() -> None:
    """List teams with their members."""
    from sqlalchemy import select

    from nitroplatform.people.models import Team
    from nitroplatform.people.service import team_members

    with _session() as db:
        for team in db.scalars(select(Team).order_by(Team.name)):
            members = ", ".join(user.username for user in team_members(db, team_id=team.id))
            typer.echo(f"{team.name} (id {team.id}): {members or '-'}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 and name the first bad entry if it was tampered with."""
    from nitroplatform.audit.chain import verify_chain

    with _session() as db:
        report = verify_chain(db)
    if report.ok:
        typer.echo(f"audit chain intact: {report.entries} entries ({report.redacted} redacted by retention)")
        return
    typer.echo(f"AUDIT CHAIN BROKEN at entry {report.first_bad_id}: {report.reason}", err=True)
    raise typer.Exit(code=1)


@app.command("retention")
def retention(
    days: int | None = typer.Option(None, help="Override retention_days for this run."),
) -> None:
    """Delete alerts and incidents older than the retention period now, keeping weekly counts."""
    from nitroplatform.retention import run_retention

    with _session() as db:
        run = run_retention(db, retention_days=days or get_settings().retention_days)
    typer.echo(f"deleted {run.incidents_deleted} incidents and {run.alerts_deleted} alerts before {run.cutoff}")
