"""Due sources, --watch's loop, and the sync state on both index stores (SQLite, PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import latentsearch as ls
from latentsearch.connectors import jobs, state
from latentsearch.connectors.base import Change, Checkpoint, Connector, Record
from latentsearch.connectors.config import parse_sources
from latentsearch.connectors.registry import register

CALLS: list[str | None] = []


@register
class Ticker(Connector):
    """Yields one record per run, its text naming the run, and remembers the cursors it got."""

    type = "test-ticker"

    def changes(self, cursor: str | None) -> Iterator[Change]:
        CALLS.append(cursor)
        n = len(CALLS)
        yield Record(id="r", version=str(n), text=f"run number {n} of the ticker")
        yield Checkpoint(str(n))


CONF = """
[[source]]
name = "fast"
type = "test-ticker"
collection = "docs"
schedule = "FAST"

[[source]]
name = "slow"
type = "test-ticker"
collection = "docs"
schedule = "1d"
"""


def test_due_run_and_watch(tmp_path: Path, database: str | None) -> None:
    CALLS.clear()
    sources = parse_sources(CONF.replace("FAST", "10m"))
    with ls.connect(tmp_path / "idx", database=database, device="cpu") as db:
        first = jobs.run_sources(db, sources)
        assert [r.source for r in first] == ["fast", "slow"]  # never ran: both due
        assert [r.status for r in first] == ["done", "done"]
        assert jobs.run_sources(db, sources) == []  # nothing due within the second
        only = jobs.run_sources(db, sources, only="slow")  # named: runs, due or not
        assert [r.source for r in only] == ["slow"]

        seen, sleeps = [], []
        loops = iter(range(3))

        def nap(seconds: float) -> None:  # the real wait, capped so the test stays short
            sleeps.append(seconds)
            time.sleep(min(seconds, 1.1))

        jobs.watch(
            db,
            parse_sources(CONF.replace("FAST", "1s")),
            on_result=seen.append,
            stop=lambda: next(loops, None) is None,
            sleep=nap,
        )
        assert {r.source for r in seen} == {"fast"}  # slow is not due for a day
        assert len(seen) >= 2 and all(0.5 <= s <= jobs.MAX_SLEEP for s in sleeps)
        with db.store.session() as s:
            st = state.states(s, ["fast", "slow"])
        assert st["fast"].cursor == str(len(CALLS))  # fast ran last
        assert st["slow"].status == "done" and st["slow"].records == 1
        assert db.collection("docs").get("fast:r").text.startswith("run number")
        # The cursor handed back is the last checkpoint of the source's previous run.
        assert CALLS[0] is None and CALLS[1] is None and CALLS[2] == "2"
