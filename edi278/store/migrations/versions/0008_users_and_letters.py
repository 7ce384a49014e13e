"""Users with roles (reviewers deciding cases, later the web application's sign-in), the
criteria a reviewer's decision rests on, and the members' mailing addresses for letters.

- users: a unique name, a role (nurse, medical-director, operations, provider), a
  provider's partner and NPI, an argon2 password hash (never the password), when it was
  made and disabled, and the sign-in counters the web application will keep.
- decisions.criteria: a plain ADD COLUMN, so the append-only triggers stay in place.
- members address columns: nullable, since rows loaded before them have none; the
  loader requires them from now on (samples/reference/README.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


ADDRESS = ("address_line1", 55), ("address_line2", 55), ("city", 30), ("state", 2), ("zip", 10)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("npi", sa.String(10), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("disabled_at", _utc(), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["trading_partners.id"], name="fk_users_partner_id_trading_partners"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.add_column("decisions", sa.Column("criteria", sa.Text(), nullable=True))
    for name, length in ADDRESS:
        op.add_column("members", sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        for name, _ in reversed(ADDRESS):
            batch.drop_column(name)
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("criteria")
    op.drop_table("users")
