"""API keys that expire, and the last characters of each key to tell them apart by.

- api_keys.expires_at: from then on the key is answered 401, like a revoked one
  (compared with the service's clock); none for keys made before, or without --expires.
- api_keys.hint: the key's last four characters, shown by `partner keys` beside its id
  so that an operator can tell which key a partner means; too few to guess the rest
  from (the key is 43 random characters). None for keys made before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("hint", sa.String(4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("hint")
        batch.drop_column("expires_at")
