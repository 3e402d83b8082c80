"""Alembic environment: runs on the connection that bot.storage.db.migrate() passes in."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from bot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` command line, e.g. to autogenerate a revision
        url = config.get_main_option("sqlalchemy.url")
        engine = engine_from_config({"sqlalchemy.url": url}, poolclass=pool.NullPool)
        with engine.connect() as conn:
            context.configure(
                connection=conn, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
