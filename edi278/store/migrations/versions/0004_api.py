"""The HTTP API: a role per API key (partner or reviewer), and the answers given to
requests carrying an Idempotency-Key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys", sa.Column("role", sa.String(16), server_default="partner", nullable=False)
    )
    op.create_table(
        "idempotency_keys",
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("trading_partners.id"), primary_key=True
        ),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_column("api_keys", "role")
