"""Final decisions delivered to their requesters: a reviewer's decision made after the
request was answered goes back the way the request came.

- partner_deliveries: per partner, the outbox folder (file and folder requests) and the
  HTTPS callback URL with the secret its signature is made with (HTTP requests).
- deliveries: one per decision to deliver (unique on it), with its channel, destination,
  file name, the 278 itself, and the state of its sending (pending, delivered, failed,
  held), attempts, next attempt, last error; ix_deliveries_status_next_attempt_at finds
  the due ones.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partner_deliveries",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("outbox", sa.String(1024), nullable=True),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("callback_secret", sa.String(128), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["trading_partners.id"],
            name="fk_partner_deliveries_partner_id_trading_partners",
        ),
        sa.PrimaryKeyConstraint("partner_id", name="pk_partner_deliveries"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(2048), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_deliveries_decision_id_decisions"
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_deliveries_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["trading_partners.id"],
            name="fk_deliveries_partner_id_trading_partners",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("decision_id", name="uq_deliveries_decision_id"),
    )
    op.create_index("ix_deliveries_case_id", "deliveries", ["case_id"])
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_next_attempt_at", table_name="deliveries")
    op.drop_index("ix_deliveries_case_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("partner_deliveries")
