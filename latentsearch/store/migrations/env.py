"""Alembic environment: runs on the connection latentsearch hands it (see store/engine.py)."""

from __future__ import annotations

from alembic import context

from latentsearch.store.keyword import include_name
from latentsearch.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("latentsearch migrations run through latentsearch.store.engine.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
