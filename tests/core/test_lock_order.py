"""One lock order (the store connection first, then the collection lock) under a pool of ONE
connection: concurrent readers, writers and index upkeep must all finish.

With the old order (writers took the collection lock, then asked for a connection, while
readers held a connection and then waited for the lock) this stalls at once: the writer holds
the lock waiting for the only connection, held by a reader waiting for the lock, until the pool
times out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from parts_kit import new_collection, open_store, unit

from latentsearch.collection import Collection
from latentsearch.core.encoder_slot import EncoderSlot
from latentsearch.core.parts import assemble

ROUNDS = 25
DEADLINE_S = 120.0


def run_all(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(j,), daemon=True) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still waiting after {DEADLINE_S} s (a lock-order stall): {stuck}"
    return errors


def test_readers_writers_and_upkeep_share_one_connection(
    tmp_path: Path, database: str | None
) -> None:
    store = open_store(tmp_path / "db", database, max_connections=1)
    st = new_collection(store, index="Flat")
    slot = EncoderSlot(st.name, st.dim, None)
    col = Collection(assemble(store, tmp_path / "idx", st, slot, device="cpu"))
    x = unit(200, seed=1)
    col.add(vectors=x[:50], ids=[f"v{i}" for i in range(50)])

    def reader(seed: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(ROUNDS):
                q = x[(seed * 7 + i) % 50]
                assert len(col.search(q, 5)) == 5
                col.search_batch([q, x[1]], 3, where={})
                col.count()

        return go

    def writer(w: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(ROUNDS):
                ext = f"w{w}-{i}"
                col.add(vectors=x[50 + (w * ROUNDS + i) % 150][None, :], ids=[ext])
                col.upsert(vectors=x[(w + i) % 50][None, :] * -1, ids=[ext])
                if i % 3 == 0:
                    col.delete([ext])

        return go

    def upkeep() -> None:
        for _ in range(ROUNDS // 5):
            col.sync()
            assert col.verify() in (True, False)  # writers are busy: only that it answers
            col.flush()
            col.index_info()

    errors = run_all([reader(0), reader(1), writer(0), writer(1), upkeep])
    assert not errors, errors
    assert col.verify()
    col.close()
    store.close()
