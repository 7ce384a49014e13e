"""An interchange answered in chunks, each committed with a marker it resumes from.

- interchanges.requests_done: while its status is `answering`, how many of its requests
  (in file order) have their cases committed; a restart after a crash decides from the
  next one on and answers the ones before from their stored cases. None once answered,
  and for every interchange answered in one transaction (all before this revision).
  ix_interchanges_answering indexes the few that are not None (/metrics counts them).
- interchanges.status gains `answering`, and `abandoned` for one left half answered
  whose ISA13 came again with other bytes (no schema change: a String(20)).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interchanges", sa.Column("requests_done", sa.Integer(), nullable=True))
    answering = sa.text("requests_done IS NOT NULL")
    op.create_index(
        "ix_interchanges_answering",
        "interchanges",
        ["requests_done"],
        sqlite_where=answering,
        postgresql_where=answering,
    )


def downgrade() -> None:
    op.drop_index("ix_interchanges_answering", table_name="interchanges")
    with op.batch_alter_table("interchanges") as batch:
        batch.drop_column("requests_done")
