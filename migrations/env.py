"""Alembic environment: runs on a connection handed over by jobledger, or on sqlalchemy.url."""

from alembic import context
from sqlalchemy import create_engine, pool

from jobledger.eventlog.tables import metadata

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:  # the plain `alembic` command, for developers
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        run(conn)
