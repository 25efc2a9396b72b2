"""The sql source against the real PostgreSQL and MariaDB servers: incremental by updated_at and
by a version column, deletes by key scan, permissions removed at the source, failing rows, and
unchanged rows that cost no encoding."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import create_engine, text
from synckit import Counting

import latentsearch as ls
from latentsearch.connectors.config import SourceConfig
from latentsearch.connectors.runner import sync_source

T0 = datetime(2026, 1, 1, 12, 0, 0)
LONG = " ".join(
    f"Step {n}: restart the VPN gateway, check the tunnel on port {4000 + n} and page the "
    "network on-call if the handshake still fails after three retries."
    for n in range(60)
)


def _source(url: str, **settings: object) -> SourceConfig:
    base = {
        "url": url,
        "table": "tickets",
        "id": "id",
        "text": ["subject", "body"],
        "title": "subject",
        "uri": "https://crm.example.com/tickets/{id}",
        "metadata": ["status"],
        "acl": "readers",
        "updated_at": "updated_at",
        "page_size": 2,
    }
    return SourceConfig(name="crm", type="sql", collection="docs", settings={**base, **settings})


def _create(url: str, version: bool = False) -> None:
    engine = create_engine(url)
    inc = "version BIGINT NOT NULL" if version else "updated_at TIMESTAMP NOT NULL"
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject VARCHAR(200), "
                f"body TEXT, status VARCHAR(20), readers VARCHAR(200), {inc})"
            )
        )
        rows = [
            (1, "VPN is down", "Users cannot reach the VPN from home.", "open", "group:it"),
            (2, "Printer jam", "The third floor printer jams on A3 paper.", "closed", "*"),
            (3, "VPN runbook", LONG, "open", '["group:it", "user:ann"]'),
            (4, "Laptop order", "New laptops for the sales team arrive Monday.", "open", "*"),
        ]
        for n, (i, subject, body, status, readers) in enumerate(rows):
            conn.execute(
                text("INSERT INTO tickets VALUES (:i, :s, :b, :st, :r, :inc)"),
                {
                    "i": i,
                    "s": subject,
                    "b": body,
                    "st": status,
                    "r": readers,
                    "inc": n + 1 if version else T0 + timedelta(minutes=n),
                },
            )
    engine.dispose()


def _exec(url: str, sql: str, **params: object) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


def _ids(col: ls.Collection) -> set[str]:
    return {h.id.split("#")[0] for h in col.search("vpn printer laptop", k=100)}


def test_incremental_by_updated_at_with_deletes_and_permissions(
    source_url: str, index: ls.Database, counted: Counting
) -> None:
    _create(source_url)
    src = _source(source_url)
    first = sync_source(index, src)
    assert (first.status, first.added, first.failed) == ("done", 4, 0), first.errors
    col = index.collection("docs")
    assert _ids(col) == {"crm:1", "crm:2", "crm:3", "crm:4"}
    chunks = len(col) - 3
    assert chunks > 1  # the long runbook became several chunks
    hit = col.search("printer jams", k=1)[0]
    assert hit.id == "crm:2" and hit.metadata["status"] == "closed"
    assert hit.source is not None and hit.source.uri == "https://crm.example.com/tickets/2"
    # The ACL column became the items' principals.
    assert {h.id for h in col.search("vpn", k=50, principals=["user:bob"])} <= {"crm:2", "crm:4"}
    assert "crm:1" in {h.id for h in col.search("vpn", k=50, principals=["group:it"])}
    embedded = counted.texts
    assert embedded >= 3 + chunks  # the spy sees the real encoder's work

    # Nothing changed: nothing is read past the cursor's page, nothing is embedded.
    again = sync_source(index, src)
    assert (again.added, again.updated, again.deleted) == (0, 0, 0)
    assert counted.texts == embedded

    # One row edited, one only touched (updated_at moves, content does not).
    _exec(
        source_url,
        "UPDATE tickets SET body = 'The VPN is back after a reboot.', updated_at = :t WHERE id = 1",
        t=T0 + timedelta(hours=1),
    )
    _exec(source_url, "UPDATE tickets SET updated_at = :t WHERE id = 2", t=T0 + timedelta(hours=2))
    third = sync_source(index, src)
    assert (third.updated, third.added) == (1, 0)
    assert third.unchanged >= 1
    assert counted.texts == embedded + 1  # only the edited row's text
    assert "back after a reboot" in (col.get("crm:1").text or "")

    # Permissions removed at the source: readers emptied -> the row leaves the index.
    _exec(
        source_url,
        "UPDATE tickets SET readers = '', updated_at = :t WHERE id = 4",
        t=T0 + timedelta(hours=3),
    )
    # Deleted at the source: the key scan finds it; every chunk of the runbook goes.
    _exec(source_url, "DELETE FROM tickets WHERE id = 3")
    fourth = sync_source(index, src)
    assert fourth.deleted == 2, fourth
    assert _ids(col) == {"crm:1", "crm:2"}
    assert len(col) == 2


def test_incremental_by_version_column(
    source_url: str, index: ls.Database, counted: Counting
) -> None:
    _create(source_url, version=True)
    src = _source(source_url, updated_at=None, version="version")
    assert sync_source(index, src).added == 4
    embedded = counted.texts
    _exec(source_url, "UPDATE tickets SET subject = 'Printer fixed', version = 5 WHERE id = 2")
    res = sync_source(index, src)
    assert (res.updated, res.added, res.deleted) == (1, 0, 0)
    # Only the rows at or past the cursor (version 4) were read.
    assert res.unchanged == 1
    assert counted.texts == embedded + 1
    assert index.collection("docs").get("crm:2").source.title == "Printer fixed"


def test_a_failing_row_is_reported_and_skipped(
    source_url: str, index: ls.Database, counted: Counting
) -> None:
    _create(source_url)
    _exec(source_url, "UPDATE tickets SET subject = NULL, body = NULL WHERE id = 2")
    _exec(source_url, "UPDATE tickets SET readers = '[\"unclosed' WHERE id = 4")
    res = sync_source(index, _source(source_url))
    assert res.status == "done"
    assert (res.added, res.failed) == (2, 2)
    assert {e["id"] for e in res.errors} == {"2", "4"}
    # A NULL in the incremental column cannot be paged over: reported, and no row is lost.
    engine = create_engine(source_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE tickets ADD COLUMN changed INTEGER"))
        conn.execute(text("UPDATE tickets SET changed = id WHERE id <> 3"))
    engine.dispose()
    src = _source(source_url, updated_at="changed", page_size=1)
    res = sync_source(index, src)
    assert res.status == "done" and "3" in {e["id"] for e in res.errors}, res
    assert _ids(index.collection("docs")) == {"crm:1", "crm:3"}


def test_a_query_source(source_url: str, index: ls.Database) -> None:
    _create(source_url)
    src = _source(
        source_url,
        table=None,
        query="SELECT id, subject, body, status, readers, updated_at FROM tickets WHERE status = 'open'",
    )
    src.settings.pop("table")
    res = sync_source(index, src)
    assert (res.status, res.added) == ("done", 3), res.errors
