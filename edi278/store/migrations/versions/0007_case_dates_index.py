"""Cases by member and dates: the duplicate check asks for a member's cases whose dates
meet a request's. On the member alone, every case the member ever had was read to find the
few that do; with the end date next, the cases that ended before the request began are
skipped by the index. The new index leads with member_id, so it replaces the old one.

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


def downgrade() -> None:
    op.create_index("ix_cases_member_id", "cases", ["member_id"])
    op.drop_index("ix_cases_member_dates", table_name="cases")
