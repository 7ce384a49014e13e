"""Alembic's entry: migrations always run on a connection the caller opened
(edi278.store.database), never from an alembic.ini."""

from alembic import context

from edi278.store.tables import metadata, ours

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=ours,  # procrastinate's tables are its own
    transactional_ddl=True,  # on SQLite too: the caller's BEGIN IMMEDIATE covers the DDL
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
