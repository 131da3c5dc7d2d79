"""IAMA: deployments, records, answers with history, comments, versions, review items, DPO advice,
decisions, residual risks, workflow transitions and immutable approved snapshots.

Revision ID: 0003_iama
Revises: 0002_people
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_iama"
down_revision: str | None = "0002_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ['iama_transitions', 'iama_snapshots', 'iama_review_items', 'iama_residual_risks', 'iama_record_versions', 'iama_dpo_advice', 'iama_decisions', 'iama_comments', 'iama_answers', 'iama_answer_history', 'iama_records', 'iama_deployments']


def upgrade() -> None:
    op.create_table('iama_deployments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('period_start', sa.String(length=10), nullable=False),
    sa.Column('period_end', sa.String(length=10), nullable=False),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_deployments'))
    )
    op.create_table('iama_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deployment_id', sa.String(length=64), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=32), nullable=False),
    sa.Column('questionnaire_version', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=True),
    sa.Column('dpo', sa.String(length=64), nullable=True),
    sa.Column('approver', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reassessment_needed', sa.Boolean(), nullable=False),
    sa.Column('drift', sa.JSON(), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deployment_id'], ['iama_deployments.id'], name=op.f('fk_iama_records_deployment_id_iama_deployments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_records'))
    )
    op.create_table('iama_answer_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=16), nullable=False),
    sa.Column('old_value', sa.JSON(), nullable=True),
    sa.Column('new_value', sa.JSON(), nullable=True),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_answer_history_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_answer_history'))
    )
    op.create_table('iama_answers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=16), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_answers_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_answers')),
    sa.UniqueConstraint('record_id', 'question_id', name='uq_iama_answers_record_question')
    )
    op.create_table('iama_comments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_comments_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_comments'))
    )
    op.create_table('iama_decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_decisions_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_decisions'))
    )
    op.create_table('iama_dpo_advice',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('dpo', sa.String(length=64), nullable=False),
    sa.Column('opinion', sa.String(length=16), nullable=False),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_dpo_advice_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_dpo_advice'))
    )
    op.create_table('iama_record_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_record_versions_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_record_versions')),
    sa.UniqueConstraint('record_id', 'version', name='uq_iama_record_versions_record_version')
    )
    op.create_table('iama_residual_risks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_residual_risks_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_residual_risks'))
    )
    op.create_table('iama_review_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=16), nullable=False),
    sa.Column('mark', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_review_items_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_review_items'))
    )
    op.create_table('iama_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('facts_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_snapshots_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_snapshots'))
    )
    op.create_table('iama_transitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['iama_records.id'], name=op.f('fk_iama_transitions_record_id_iama_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iama_transitions'))
    )
    op.create_index(op.f('ix_iama_records_deployment_id'), 'iama_records', ['deployment_id'], unique=False)
    op.create_index(op.f('ix_iama_answer_history_record_id'), 'iama_answer_history', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_answers_record_id'), 'iama_answers', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_comments_record_id'), 'iama_comments', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_decisions_record_id'), 'iama_decisions', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_dpo_advice_record_id'), 'iama_dpo_advice', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_record_versions_record_id'), 'iama_record_versions', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_residual_risks_record_id'), 'iama_residual_risks', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_review_items_record_id'), 'iama_review_items', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_snapshots_record_id'), 'iama_snapshots', ['record_id'], unique=False)
    op.create_index(op.f('ix_iama_transitions_record_id'), 'iama_transitions', ['record_id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
