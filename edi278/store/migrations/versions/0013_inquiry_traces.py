"""Cases found by the trace number of the request that made them (an X215 inquiry).

- ix_cases_trace: cases by their 2000E TRN02 and TRN03. The unique key that dedupes
  requests leads with the sender and the BHT03, so a lookup by trace alone scanned every
  case of the sender.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_trace", "cases", ["trace_number", "trace_originator"])


def downgrade() -> None:
    op.drop_index("ix_cases_trace", table_name="cases")
