"""Child process for test_crash.py: adds, upserts and deletes forever, printing each write once it
is acknowledged (the call returned), and each upsert or delete before it starts.

Lines: ``added A B`` (ids vA..vB-1 exist), ``upserting VER IDS...`` then ``upserted VER`` (those ids
carry metadata version VER or later), ``deleting ID`` then ``deleted ID``.
"""

from __future__ import annotations

import sys

import numpy as np

import latentsearch as ls

BATCH = 50


def main(path: str, database: str | None, start: int, spec: str) -> None:
    db = ls.connect(path, database=database or None, device="cpu")
    col = db.create_collection("crash", dim=64, index=spec, exist_ok=True)
    rng = np.random.default_rng(start)
    i = start
    while True:
        ids = [f"v{j}" for j in range(i, i + BATCH)]
        col.add(vectors=rng.normal(size=(BATCH, 64)), ids=ids, metadata=[{"version": 0}] * BATCH)
        print("added", i, i + BATCH, flush=True)
        step = (i - start) // BATCH
        if step % 2 == 1:  # upsert the first ten of the previous batch: new vectors and version
            again = [f"v{j}" for j in range(i - BATCH, i - BATCH + 10)]
            print("upserting", i, *again, flush=True)
            col.upsert(vectors=rng.normal(size=(10, 64)), ids=again, metadata=[{"version": i}] * 10)
            print("upserted", i, flush=True)
        if step % 3 == 2:  # delete the last of this batch (never upserted)
            print("deleting", i + BATCH - 1, flush=True)  # until "deleted", either outcome is fine
            col.delete([f"v{i + BATCH - 1}"])
            print("deleted", i + BATCH - 1, flush=True)
        i += BATCH


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
