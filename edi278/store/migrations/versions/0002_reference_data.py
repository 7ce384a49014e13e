"""Reference data the decisions read: plans, providers and their network spans,
members and their eligibility spans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("product_type", sa.String(10), nullable=False),
        sa.Column("medical_management", sa.String(24), nullable=False),
        sa.Column("referral_required", sa.Boolean(), nullable=False),
        sa.Column("out_of_network_benefit", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "providers",
        sa.Column("npi", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("taxonomy", sa.String(10), nullable=False),
        sa.Column("cost_tier", sa.Integer(), nullable=False),
    )
    op.create_table(
        "network_spans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("npi", sa.String(10), sa.ForeignKey("providers.npi"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date()),
    )
    op.create_index(op.f("ix_network_spans_npi"), "network_spans", ["npi"])
    op.create_table(
        "members",
        sa.Column("member_id", sa.String(30), primary_key=True),
        sa.Column("subscriber_id", sa.String(30), nullable=False),
        sa.Column("relationship", sa.String(10), nullable=False),
        sa.Column("last_name", sa.String(60), nullable=False),
        sa.Column("first_name", sa.String(35), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(1), nullable=False),
        sa.Column("plan_id", sa.String(20), sa.ForeignKey("plans.plan_id"), nullable=False),
        sa.Column("pcp_npi", sa.String(10), sa.ForeignKey("providers.npi")),
        sa.Column("medicare_primary", sa.Boolean(), nullable=False),
        sa.Column("medicare_product", sa.String(12), nullable=False),
        sa.Column("coordination_notes", sa.String(500), nullable=False),
    )
    op.create_index(op.f("ix_members_subscriber_id"), "members", ["subscriber_id"])
    op.create_index("ix_members_name", "members", ["last_name", "first_name"])
    op.create_table(
        "eligibility_spans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.String(30), sa.ForeignKey("members.member_id"), nullable=False),
        sa.Column("plan_id", sa.String(20), sa.ForeignKey("plans.plan_id"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date()),
    )
    op.create_index(op.f("ix_eligibility_spans_member_id"), "eligibility_spans", ["member_id"])


def downgrade() -> None:
    for table in ("eligibility_spans", "members", "network_spans", "providers", "plans"):
        op.drop_table(table)
