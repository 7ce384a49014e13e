"""What a decision answered beyond HCR (an AAA's loop and follow-up, the certified
quantity, the documents asked for, a pend's due time) and the trace of how it was made;
and each case's request, kept to answer a reviewer's decision later.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("validation_loop", sa.String(6)),
    ("follow_up", sa.String(1)),
    ("quantity", sa.String(20)),
    ("documents", sa.String(100)),
    ("due_at", sa.DateTime(timezone=True)),
    ("trace", sa.Text()),
)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite): the append-only triggers stay in place.
    for name, kind in COLUMNS:
        op.add_column("decisions", sa.Column(name, kind))
    op.add_column("cases", sa.Column("request", sa.Text()))


def downgrade() -> None:
    op.drop_column("cases", "request")
    for name, _ in reversed(COLUMNS):
        op.drop_column("decisions", name)
