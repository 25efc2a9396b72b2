"""Child process for test_crash.py: writes forever, printing each id batch once it is acknowledged."""

from __future__ import annotations

import sys

import numpy as np

import latentsearch as ls


def main(path: str, database: str | None, start: int) -> None:
    db = ls.connect(path, database=database or None, device="cpu")
    col = db.create_collection("crash", dim=64, index=sys.argv[4], exist_ok=True)
    rng = np.random.default_rng(start)
    i = start
    while True:
        ids = [f"v{j}" for j in range(i, i + 50)]
        col.add(vectors=rng.normal(size=(50, 64)), ids=ids)
        print("added", i, i + 50, flush=True)
        if i % 200 == 0:
            print("deleting", i, flush=True)  # until "deleted" is printed, either outcome is fine
            col.delete([f"v{i}"])
            print("deleted", i, flush=True)
        i += 50


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
