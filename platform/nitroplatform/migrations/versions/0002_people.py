"""People side: users, roles, teams, areas, shifts, sessions, tokens, routing, silences, pages, claims,
outcomes, push subscriptions and cooldown policy, audit log (append-only), retention runs, weekly
aggregates, model registry, camera transparency facts.

Revision ID: 0002_people
Revises: 0001_core
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_people"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is append-only in the database itself, not just by convention of the code: UPDATE and
# DELETE on people_audit_entries are refused by a trigger on both backends.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION people_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'people_audit_entries is append-only';
END;
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER people_audit_entries_append_only
BEFORE UPDATE OR DELETE ON people_audit_entries
FOR EACH ROW EXECUTE FUNCTION people_audit_append_only()
"""
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER people_audit_entries_no_update BEFORE UPDATE ON people_audit_entries
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only'); END""",
    """CREATE TRIGGER people_audit_entries_no_delete BEFORE DELETE ON people_audit_entries
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only'); END""",
)


def _protect_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    elif dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def _unprotect_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_append_only ON people_audit_entries")
        op.execute("DROP FUNCTION IF EXISTS people_audit_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_no_delete")


def upgrade() -> None:
    op.create_table(
        "people_audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_audit_entries")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_people_audit_entries_entry_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_people_audit_entries_prev_hash")),
    )
    op.create_index(op.f("ix_people_audit_entries_action"), "people_audit_entries", ["action"], unique=False)
    op.create_index(op.f("ix_people_audit_entries_actor"), "people_audit_entries", ["actor"], unique=False)
    op.create_index(op.f("ix_people_audit_entries_at"), "people_audit_entries", ["at"], unique=False)
    op.create_table(
        "people_camera_transparency",
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("schedule_summary", sa.String(length=256), nullable=False),
        sa.Column("iama_summary_url", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_people_camera_transparency")),
    )
    op.create_table(
        "people_login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_login_attempts")),
    )
    op.create_index(op.f("ix_people_login_attempts_at"), "people_login_attempts", ["at"], unique=False)
    op.create_index(op.f("ix_people_login_attempts_client"), "people_login_attempts", ["client"], unique=False)
    op.create_index(op.f("ix_people_login_attempts_username"), "people_login_attempts", ["username"], unique=False)
    op.create_table(
        "people_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("card_json", sa.Text(), nullable=False),
        sa.Column("signature_b64", sa.String(length=128), nullable=False),
        sa.Column("signer_key_b64", sa.String(length=64), nullable=False),
        sa.Column("storage_name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_models")),
        sa.UniqueConstraint("model_id", "version", name="uq_people_models_id_version"),
    )
    op.create_table(
        "people_pages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("paged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("held_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_pages")),
    )
    op.create_index(op.f("ix_people_pages_camera_id"), "people_pages", ["camera_id"], unique=False)
    op.create_index(op.f("ix_people_pages_incident_id"), "people_pages", ["incident_id"], unique=False)
    op.create_index(op.f("ix_people_pages_paged_at"), "people_pages", ["paged_at"], unique=False)
    op.create_table(
        "people_retention_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("alerts_deleted", sa.Integer(), nullable=False),
        sa.Column("incidents_deleted", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_retention_runs")),
    )
    op.create_table(
        "people_silences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expired_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_silences")),
    )
    op.create_table(
        "people_teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("escalate_to_team_id", sa.Integer(), nullable=True),
        sa.Column("escalate_after_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalate_to_team_id"],
            ["people_teams.id"],
            name=op.f("fk_people_teams_escalate_to_team_id_people_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_people_teams_name")),
    )
    op.create_table(
        "people_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_users")),
        sa.UniqueConstraint("username", name=op.f("uq_people_users_username")),
    )
    op.create_table(
        "people_weekly_aggregates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_weekly_aggregates")),
        sa.UniqueConstraint(
            "camera_id",
            "iso_year",
            "iso_week",
            "outcome",
            "category",
            "model_id",
            "model_version",
            name="uq_people_weekly_aggregates_key",
        ),
    )
    op.create_table(
        "people_api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["people_users.id"], name=op.f("fk_people_api_tokens_user_id_people_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_people_api_tokens_token_hash")),
    )
    op.create_table(
        "people_areas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["people_teams.id"], name=op.f("fk_people_areas_team_id_people_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_areas")),
    )
    op.create_table(
        "people_incident_claims",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["people_users.id"],
            name=op.f("fk_people_incident_claims_user_id_people_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_people_incident_claims")),
    )
    op.create_table(
        "people_incident_outcomes",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("remark", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["people_users.id"],
            name=op.f("fk_people_incident_outcomes_user_id_people_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_people_incident_outcomes")),
    )
    op.create_index(
        op.f("ix_people_incident_outcomes_camera_id"), "people_incident_outcomes", ["camera_id"], unique=False
    )
    op.create_table(
        "people_memberships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["people_teams.id"],
            name=op.f("fk_people_memberships_team_id_people_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["people_users.id"],
            name=op.f("fk_people_memberships_user_id_people_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_memberships")),
        sa.UniqueConstraint("team_id", "user_id", name="uq_people_memberships_team_user"),
    )
    op.create_table(
        "people_model_assignments",
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["people_models.id"],
            name=op.f("fk_people_model_assignments_model_pk_people_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_people_model_assignments")),
    )
    op.create_table(
        "people_push_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["people_users.id"],
            name=op.f("fk_people_push_subscriptions_user_id_people_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_push_subscriptions")),
        sa.UniqueConstraint("endpoint_hash", name=op.f("uq_people_push_subscriptions_endpoint_hash")),
    )
    op.create_table(
        "people_role_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["people_users.id"],
            name=op.f("fk_people_role_grants_user_id_people_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_role_grants")),
        sa.UniqueConstraint("user_id", "role", name="uq_people_role_grants_user_role"),
    )
    op.create_table(
        "people_routes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("weekdays", sa.String(length=32), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=True),
        sa.Column("end_minute", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["people_teams.id"], name=op.f("fk_people_routes_team_id_people_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_routes")),
    )
    op.create_table(
        "people_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["people_users.id"], name=op.f("fk_people_sessions_user_id_people_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_people_sessions")),
    )
    op.create_table(
        "people_shifts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=32), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["people_teams.id"], name=op.f("fk_people_shifts_team_id_people_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_shifts")),
    )
    op.create_table(
        "people_area_cameras",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["people_areas.id"],
            name=op.f("fk_people_area_cameras_area_id_people_areas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_area_cameras")),
        sa.UniqueConstraint("area_id", "camera_id", name="uq_people_area_cameras"),
    )
    op.create_index(op.f("ix_people_area_cameras_camera_id"), "people_area_cameras", ["camera_id"], unique=False)
    op.create_table(
        "people_camera_cooldowns",
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_people_camera_cooldowns")),
    )
    op.create_table(
        "people_push_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooldown_global_s", sa.Integer(), nullable=False),
        sa.Column("cooldown_camera_s", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_push_policy")),
    )
    _protect_audit_log()


def downgrade() -> None:
    _unprotect_audit_log()
    op.drop_table("people_push_policy")
    op.drop_table("people_camera_cooldowns")
    op.drop_index(op.f("ix_people_area_cameras_camera_id"), table_name="people_area_cameras")
    op.drop_table("people_area_cameras")
    op.drop_table("people_shifts")
    op.drop_table("people_sessions")
    op.drop_table("people_routes")
    op.drop_table("people_role_grants")
    op.drop_table("people_push_subscriptions")
    op.drop_table("people_model_assignments")
    op.drop_table("people_memberships")
    op.drop_index(op.f("ix_people_incident_outcomes_camera_id"), table_name="people_incident_outcomes")
    op.drop_table("people_incident_outcomes")
    op.drop_table("people_incident_claims")
    op.drop_table("people_areas")
    op.drop_table("people_api_tokens")
    op.drop_table("people_weekly_aggregates")
    op.drop_table("people_users")
    op.drop_table("people_teams")
    op.drop_table("people_silences")
    op.drop_table("people_retention_runs")
    op.drop_index(op.f("ix_people_pages_paged_at"), table_name="people_pages")
    op.drop_index(op.f("ix_people_pages_incident_id"), table_name="people_pages")
    op.drop_index(op.f("ix_people_pages_camera_id"), table_name="people_pages")
    op.drop_table("people_pages")
    op.drop_table("people_models")
    op.drop_index(op.f("ix_people_login_attempts_username"), table_name="people_login_attempts")
    op.drop_index(op.f("ix_people_login_attempts_client"), table_name="people_login_attempts")
    op.drop_index(op.f("ix_people_login_attempts_at"), table_name="people_login_attempts")
    op.drop_table("people_login_attempts")
    op.drop_table("people_camera_transparency")
    op.drop_index(op.f("ix_people_audit_entries_at"), table_name="people_audit_entries")
    op.drop_index(op.f("ix_people_audit_entries_actor"), table_name="people_audit_entries")
    op.drop_index(op.f("ix_people_audit_entries_action"), table_name="people_audit_entries")
    op.drop_table("people_audit_entries")
