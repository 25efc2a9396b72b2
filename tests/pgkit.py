"""The test PostgreSQL server, and throwaway schemas on it.

One place for the URL and the schema lifecycle: `conftest.py`'s ``pg_url`` fixture, the
module-scoped databases of `query_support.database` and the server tests all use them. Import
``PG_URL`` from here, never ``from conftest import``: pytest names every conftest.py "conftest".
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

PG_URL = os.environ.get("LATENTSEARCH_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


@contextmanager
def pg_schema(pg_admin: Engine, base: str = PG_URL) -> Iterator[str]:
    """A URL on ``base`` whose search_path is a fresh schema, dropped (with its tables) on exit."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"  # a Unix-socket URL already carries ?host=
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
