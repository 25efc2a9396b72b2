"""Child process of test_killed_run: sync an sql source, printing each record as it is written,
until the test SIGKILLs it. Usage: sync_child.py INDEX SOURCE_DB_FILE."""

from __future__ import annotations

import sys

import latentsearch as ls
from latentsearch.connectors.config import SourceConfig
from latentsearch.connectors.runner import sync_source


def source(db_file: str) -> SourceConfig:
    settings = {
        "url": f"sqlite:///{db_file}",
        "table": "notes",
        "text": "body",
        "version": "version",
        "page_size": 5,
    }
    return SourceConfig(name="notes", type="sql", collection="docs", settings=settings)


def main() -> None:
    index, db_file = sys.argv[1], sys.argv[2]

    def progress(kind: str, n: int) -> None:
        print(kind, n, flush=True)

    with ls.connect(index, device="cpu") as db:
        sync_source(db, source(db_file), progress=progress, batch_size=5)
    print("finished", flush=True)


if __name__ == "__main__":
    main()
