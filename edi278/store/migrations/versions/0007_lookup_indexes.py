"""Indexes for the lookups every interchange makes, so that none of them reads a table
whose size grows with everything ever received.

- Cases by member and dates: the duplicate check asks for a member's cases whose dates
  meet a request's. On the member alone, every case the member ever had was read to find
  the few that do; with the end date next, the cases that ended before the request began
  are skipped. It leads with member_id, so it replaces ix_cases_member_id.
- Interchanges by sender and ISA13: the unique index on them is partial (only the
  interchanges that claim their control number), so the lookup of every interchange sent
  before under the same ISA13 could not use it and scanned the table.
- Decisions by certification number: an extension, revision or cancel names the number
  it refers to, and an inquiry may too; without an index each scanned every decision.
- Cases by status: the review queue (the pended cases) read every event decision ever
  made to find the latest of each case; the case's status says it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_member_dates", "cases", ["member_id", "event_end", "event_start"])
    op.drop_index("ix_cases_member_id", table_name="cases")
    op.create_index("ix_interchanges_sender_control", "interchanges", ["sender", "control_number"])
    op.create_index("ix_decisions_certification_number", "decisions", ["certification_number"])
    op.create_index("ix_cases_status", "cases", ["status"])


def downgrade() -> None:
    op.drop_index("ix_cases_status", table_name="cases")
    op.drop_index("ix_decisions_certification_number", table_name="decisions")
    op.drop_index("ix_interchanges_sender_control", table_name="interchanges")
    op.create_index("ix_cases_member_id", "cases", ["member_id"])
    op.drop_index("ix_cases_member_dates", table_name="cases")
