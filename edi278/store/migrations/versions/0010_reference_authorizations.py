"""What a plan's reference data must say for referrals, Medicare and the certifications
its previous system issued (issue 23).

- providers.group_npi: the group practice (an organisation's NPI) a provider belongs
  to, so that a referral the PCP's group sends is recognised as the PCP's.
- members.medicare_exhausted_from: the first day Medicare's coverage is exhausted and
  the plan pays first (policy source 004: "Medicare coverage exhausted; when CIGNA
  becomes primary").
- reference_authorizations: certifications issued before edi278, by their number as
  issued, honoured as certifications issued here when a request quotes them (REF BB).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("providers", sa.Column("group_npi", sa.String(10), nullable=True))
    op.add_column("members", sa.Column("medicare_exhausted_from", sa.Date(), nullable=True))
    op.create_table(
        "reference_authorizations",
        sa.Column("number", sa.String(50), nullable=False),
        sa.Column("member_id", sa.String(30), nullable=False),
        sa.Column("service_type", sa.String(2), nullable=False),
        sa.Column("procedures", sa.String(200), nullable=False),
        sa.Column("facility_npi", sa.String(10), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(6), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.member_id"],
            name="fk_reference_authorizations_member_id_members",
        ),
        sa.PrimaryKeyConstraint("number", name="pk_reference_authorizations"),
    )
    op.create_index(
        "ix_reference_authorizations_member_id", "reference_authorizations", ["member_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_reference_authorizations_member_id", table_name="reference_authorizations")
    op.drop_table("reference_authorizations")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("medicare_exhausted_from")
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("group_npi")
