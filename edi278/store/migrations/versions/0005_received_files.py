"""Distributed workers: the files received for them (one procrastinate job each) and,
on PostgreSQL, procrastinate's own schema, so that `edi278 db upgrade` is all an
operator runs. SQLite has no workers (`--queue` answers in-process there).

The procrastinate schema is the one of the pinned release (3.10); a later release's
schema changes come as later revisions applying its migration files.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# procrastinate's functions and types, dropped by name on downgrade (its tables by CASCADE).
DROP_PROCRASTINATE = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT oid::regprocedure AS signature FROM pg_proc
        WHERE proname LIKE 'procrastinate\\_%' AND pronamespace = current_schema()::regnamespace
    LOOP
        EXECUTE 'DROP FUNCTION ' || found.signature || ' CASCADE';
    END LOOP;
    FOR found IN
        SELECT typname FROM pg_type
        WHERE typname LIKE 'procrastinate\\_%' AND typtype IN ('c', 'e')
            AND typnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE 'DROP TYPE ' || quote_ident(found.typname) || ' CASCADE';
    END LOOP;
END;
$$;
"""


def upgrade() -> None:
    op.create_table(
        "received_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("held_at", sa.String(1024), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("outbox", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.BigInteger()),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("worker", sa.String(64)),
        sa.Column("error", sa.String(500)),
    )
    op.create_index("ix_received_files_status", "received_files", ["status"])
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    exists = connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists is None:  # else installed by hand (`procrastinate schema --apply`): kept
        from procrastinate.schema import SchemaManager

        # exec_driver_sql passes parameters, so psycopg reads % as a placeholder:
        # doubled, as procrastinate's own apply_schema does.
        connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(DROP_PROCRASTINATE.replace("%", "%%"))
    op.drop_index("ix_received_files_status", "received_files")
    op.drop_table("received_files")
