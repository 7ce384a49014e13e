"""Per partner: whether a 999's IK404 may copy the bad data it points at. Some partners
want no member data in acknowledgements; the guide lets IK404 be left out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "trading_partners",
        sa.Column("copy_bad_data", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("trading_partners") as batch:
        batch.drop_column("copy_bad_data")
