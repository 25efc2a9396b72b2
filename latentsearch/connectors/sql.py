"""The ``sql`` source: rows of a table or query in any database SQLAlchemy reaches.

Settings (``[source.settings]``)::

    url = "postgresql+psycopg://reader@db.internal/crm"   # no password here: password_env
    table = "tickets"            # or query = "SELECT ... FROM ..." (read as a subquery)
    id = "id"                    # the column that names a row
    text = ["subject", "body"]   # one column or several (joined by blank lines)
    title = "subject"
    uri = "https://crm.example.com/tickets/{id}"   # a template over the row's columns
    metadata = ["status", "product"]              # or a table { key = "column" }
    acl = "readers"              # JSON list, array, or comma-separated principals
    updated_at = "updated_at"    # incremental: rows changed since the cursor (or version = "...")
    page_size = 500

Rows are read in pages ordered by the incremental column then the id (keyset paging), with a
`Checkpoint` after each page, so a killed run resumes at the last page written. Rows whose
column value equals the cursor are read again and skipped by version. A record's version is a
hash of its mapped values, so a touched but unchanged row costs nothing. Deletes are found by a
key scan (every id in the table). When ``acl`` is set, a row whose ACL is NULL or empty is
readable by no one and leaves the index (fail closed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from latentsearch.connectors.base import Change, Checkpoint, Connector, Failed, Record
from latentsearch.errors import ConnectorError, MissingExtraError, SourceConfigError

DEFAULT_PAGE = 500


class SqlConnector(Connector):
    type = "sql"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        s = self.settings
        if bool(s.get("table")) == bool(s.get("query")):
            raise SourceConfigError(f"source {name!r}: give exactly one of table or query")
        if s.get("updated_at") and s.get("version"):
            raise SourceConfigError(f"source {name!r}: give updated_at or version, not both")
        self.id_col: str = _name(s.get("id", "id"), name, "id")
        texts = s.get("text", "text")
        self.text_cols = [texts] if isinstance(texts, str) else list(texts)
        meta = s.get("metadata", [])
        self.meta: dict[str, str] = (
            dict(meta) if isinstance(meta, Mapping) else {m: m for m in meta}
        )
        self.title_col: str | None = s.get("title")
        self.uri: str | None = s.get("uri")
        self.acl_col: str | None = s.get("acl")
        self.inc: str | None = s.get("updated_at") or s.get("version")
        self.page = int(s.get("page_size", DEFAULT_PAGE))
        cols = [self.id_col, *self.text_cols, *self.meta.values()]
        cols += [c for c in (self.title_col, self.acl_col, self.inc) if c]
        cols += _template_fields(self.uri)
        self.columns = list(dict.fromkeys(cols))
        self._engine: sa.Engine | None = None

    # -- the source -----------------------------------------------------------------------
    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            try:
                url = sa.make_url(self.secrets.get("url") or self.settings.get("url") or "")
                if "password" in self.secrets:
                    url = url.set(password=self.secrets["password"])
                self._engine = sa.create_engine(url, pool_pre_ping=True)
            except ImportError as exc:  # the database driver (pymysql, psycopg...) is missing
                raise MissingExtraError(
                    f"source {self.name!r}: the database driver is not installed "
                    f"({exc}); for MySQL/MariaDB: pip install 'latentsearch[sql]'"
                ) from exc
            except sa.exc.ArgumentError as exc:
                raise SourceConfigError(f"source {self.name!r}: bad url: {exc}") from exc
        return self._engine

    def _source(self) -> sa.Subquery | sa.TableClause:
        cols: list[sa.ColumnClause[Any]] = [sa.column(c) for c in self.columns]
        if self.settings.get("table"):
            schema, _, table = str(self.settings["table"]).rpartition(".")
            return sa.table(table, *cols, schema=schema or None)
        return sa.text(str(self.settings["query"])).columns(*cols).subquery("ls_src")

    def changes(self, cursor: str | None) -> Iterator[Change]:
        src = self._source()
        c = src.c
        order = [c[self.inc], c[self.id_col]] if self.inc else [c[self.id_col]]
        start = _decode(cursor) if (cursor and self.inc) else None
        last: tuple[Any, ...] | None = None
        try:
            with self.engine.connect() as conn:
                while True:
                    q = sa.select(*[c[n] for n in self.columns]).order_by(*order).limit(self.page)
                    if last is not None:
                        q = q.where(sa.tuple_(*order) > sa.tuple_(*[sa.literal(v) for v in last]))
                    elif start is not None:
                        q = q.where(c[self.inc] >= start)  # type: ignore[index]
                    rows = [dict(r) for r in conn.execute(q).mappings()]
                    for row in rows:
                        yield self._record(row)
                    if rows and self.inc:
                        yield Checkpoint(_encode(rows[-1][self.inc]))
                    if len(rows) < self.page:
                        break
                    last = tuple(rows[-1][col.name] for col in order)
        except sa.exc.SQLAlchemyError as exc:
            raise ConnectorError(f"source {self.name!r}: {_short(exc)}") from exc
        if not self.inc:
            yield Checkpoint("full")

    def keys(self) -> Iterable[str]:
        src = self._source()
        try:
            with self.engine.connect() as conn:
                return [str(v) for v in conn.execute(sa.select(src.c[self.id_col])).scalars()]
        except sa.exc.SQLAlchemyError as exc:
            raise ConnectorError(f"source {self.name!r}: {_short(exc)}") from exc

    # -- one row --------------------------------------------------------------------------
    def _record(self, row: dict[str, Any]) -> Record | Failed:
        rid = row[self.id_col]
        if rid is None:
            return Failed("?", f"a row has no {self.id_col}")
        rid = str(rid)
        texts = [row[c] for c in self.text_cols if row[c] is not None]
        if not texts or not all(isinstance(t, str) for t in texts):
            return Failed(rid, f"no text: {', '.join(self.text_cols)} must hold text")
        text = "\n\n".join(t for t in texts if t.strip())
        if not text:
            return Failed(rid, f"empty text in {', '.join(self.text_cols)}")
        try:
            acl = _acl(row[self.acl_col]) if self.acl_col else None
        except ValueError as exc:
            return Failed(rid, f"unreadable ACL in {self.acl_col}: {exc}")
        title = row[self.title_col] if self.title_col else None
        try:
            uri = self.uri.format_map({k: _plain(v) for k, v in row.items()}) if self.uri else None
        except (KeyError, ValueError, IndexError) as exc:
            return Failed(rid, f"uri template {self.uri!r}: {exc}")
        meta = {k: _plain(row[col]) for k, col in self.meta.items()}
        payload = [text, title, uri, meta, acl]
        version = hashlib.sha256(
            json.dumps(payload, sort_keys=True, default=str).encode()
        ).hexdigest()
        return Record(
            id=rid,
            version=version,
            text=text,
            title=None if title is None else str(title),
            uri=uri,
            metadata=meta,
            acl=acl,
        )


def _name(value: Any, source: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SourceConfigError(f"source {source!r}: {what} must name a column")
    return value


def _template_fields(template: str | None) -> list[str]:
    if not template:
        return []
    import string

    return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f]


def _acl(value: Any) -> list[str]:
    """NULL, '' or [] -> no one; a JSON list, an array, or comma/space separated names."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        v = value.strip()
        items = json.loads(v) if v.startswith("[") else v.replace(",", " ").split()
        if not isinstance(items, list):
            raise ValueError("expected a list")
    else:
        raise ValueError(f"expected text or a list, not {type(value).__name__}")
    return [str(p).strip() for p in items if str(p).strip()]


def _plain(value: Any) -> Any:
    """A JSON value for metadata and URI templates."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        return json.dumps({"datetime": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"date": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"decimal": str(value)})
    return json.dumps({"value": value})


def _decode(cursor: str) -> Any:
    kind, value = next(iter(json.loads(cursor).items()))
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:500]
