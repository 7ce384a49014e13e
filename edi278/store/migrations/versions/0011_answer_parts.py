"""Answers stored in parts, so that one of a gigabyte (the 278 responses to an interchange
of a million requests) is never one row nor held whole in memory.

- interchange_answer_parts: the parts after the first, numbered from 1, of an answer
  longer than one part. interchange_answers.content keeps the first part (part 0), so
  every answer stored before stays as it was, and a small answer is still one row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interchange_answer_parts",
        sa.Column("interchange_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name="fk_interchange_answer_parts_interchange_id_interchanges",
        ),
        sa.PrimaryKeyConstraint(
            "interchange_id", "kind", "part", name="pk_interchange_answer_parts"
        ),
    )


# Appends part :part to its answer's first part, inside the database.
_JOIN_PART = sa.text(
    "UPDATE interchange_answers SET content = content || ("
    "SELECT p.content FROM interchange_answer_parts p"
    " WHERE p.interchange_id = interchange_answers.interchange_id"
    " AND p.kind = interchange_answers.kind AND p.part = :part) "
    "WHERE EXISTS (SELECT 1 FROM interchange_answer_parts p"
    " WHERE p.interchange_id = interchange_answers.interchange_id"
    " AND p.kind = interchange_answers.kind AND p.part = :part)"
)


def downgrade() -> None:
    # Each answer is joined back into its one row, part after part, so that none is cut
    # short; one too long for a row fails the downgrade rather than lose its end.
    last = op.get_bind().scalar(sa.text("SELECT max(part) FROM interchange_answer_parts"))
    for part in range(1, (last or 0) + 1):
        op.execute(_JOIN_PART.bindparams(part=part))
    op.drop_table("interchange_answer_parts")
