"""Alembic environment: run programmatically by ``central.store.upgrade`` with the
connection passed in ``config.attributes`` (no alembic.ini)."""

from alembic import context

import central.web.accounts  # noqa: F401  (the dashboard's accounts share the store's Base)
from central.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
