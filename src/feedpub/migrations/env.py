"""Alembic environment: run on the connection feedpub hands over."""

from alembic import context

# Migrations carry what they need (no live feedpub code): a later change to
# store/ must not change what an old migration does.
connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
