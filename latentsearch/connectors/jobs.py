"""Which sources are due, running them once (`latentsearch sync`), and keeping them running on
their schedules (``--watch``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from latentsearch import Database
from latentsearch.connectors import state
from latentsearch.connectors.config import SourceConfig, Sources
from latentsearch.connectors.runner import Progress, SyncResult, sync_source

log = logging.getLogger(__name__)

MAX_SLEEP = 60.0  # --watch re-reads the schedule state at least this often


def next_runs(db: Database, sources: Sources) -> dict[str, datetime | None]:
    """When each source is next due (None: now, it never ran)."""
    with db.store.session() as s:
        known = state.states(s, [src.name for src in sources.sources])
    out = {}
    for src in sources.sources:
        st = known.get(src.name)
        out[src.name] = src.when.next_run(st.started if st else None)
    return out


def due(db: Database, sources: Sources, now: datetime | None = None) -> list[SourceConfig]:
    now = now or datetime.now(UTC)
    nxt = next_runs(db, sources)
    return [s for s in sources.sources if nxt[s.name] is None or nxt[s.name] <= now]  # type: ignore[operator]


def run_sources(
    db: Database,
    sources: Sources,
    *,
    only: str | None = None,
    force: bool = False,
    progress: Callable[[SourceConfig], Progress | None] | None = None,
) -> list[SyncResult]:
    """Run each due source once (``only``: that source, due or not; ``force``: all of them)."""
    if only is not None:
        chosen = [sources.get(only)]
    elif force:
        chosen = list(sources.sources)
    else:
        chosen = due(db, sources)
    results = []
    for src in chosen:
        results.append(
            sync_source(db, src, base=sources.base, progress=progress(src) if progress else None)
        )
    return results


def watch(
    db: Database,
    sources: Sources,
    *,
    only: str | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run sources as they fall due until ``stop()`` is true (or Ctrl-C)."""
    chosen = Sources([sources.get(only)], sources.path) if only else sources
    while not stop():
        for result in run_sources(db, chosen):
            if on_result is not None:
                on_result(result)
        now = datetime.now(UTC)
        upcoming = [t for t in next_runs(db, chosen).values() if t is not None]
        wait = min(upcoming, default=now + timedelta(seconds=MAX_SLEEP)) - now
        sleep(min(MAX_SLEEP, max(0.5, wait.total_seconds())))
