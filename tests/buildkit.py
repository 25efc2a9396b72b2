"""A small corpus for the distributed build tests, and reading a collection back from SQL.

The corpus mixes record files (one item per record) with the sample Markdown documents, some of
which are cut into several chunks: a distributed build must write a document only once every
one of its chunks is embedded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"

TOPICS = [
    ("vpn", "the VPN tunnel drops every few minutes and the handshake fails"),
    ("printer", "the office printer jams and prints blank pages"),
    ("laptop", "the laptop battery drains overnight and the fan is loud"),
    ("mail", "outgoing mail is stuck in the outbox and bounces"),
    ("wiki", "the wiki search returns nothing for pages that exist"),
    ("payroll", "the payroll export misses the overtime column"),
]


def make_corpus(folder: Path, records: int = 96) -> list[str]:
    """Write ``records`` JSONL tickets and copy the sample docs; return the document ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    with (folder / "tickets.jsonl").open("w") as fh:
        for i in range(records):
            team, issue = TOPICS[i % len(TOPICS)]
            rid = f"T-{i:04d}"
            ids.append(rid)
            body = f"Ticket {i}: {issue}. Reported by user {i * 7 % 31} on floor {i % 5}."
            fh.write(json.dumps({"id": rid, "text": body, "team": team}) + "\n")
    shutil.copytree(SAMPLES / "docs", folder / "docs")
    # A file's document id is its path under the source given to the build (``folder``).
    ids += [str(p.relative_to(folder)) for p in sorted((folder / "docs").rglob("*")) if p.is_file()]
    return ids


def items(database: str, collection: str) -> dict[str, str]:
    """Every item of ``collection``: external id -> text (read straight from SQL)."""
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "select i.external_id, i.text from ls_items i join ls_collections c "
                    "on c.id = i.collection_id where c.name = :name"
                ),
                {"name": collection},
            ).all()
            vectors = conn.execute(
                text(
                    "select count(*) from ls_vectors v join ls_items i on i.id = v.item_id "
                    "join ls_collections c on c.id = i.collection_id where c.name = :name"
                ),
                {"name": collection},
            ).scalar_one()
    finally:
        engine.dispose()
    out = {r[0]: r[1] for r in rows}
    assert len(out) == len(rows), "an id is stored twice"
    assert vectors == len(rows), f"{len(rows)} items but {vectors} vectors"
    return out


def documents_of(ids: list[str]) -> set[str]:
    """The documents items belong to (a chunk ``doc#n`` belongs to ``doc``)."""
    return {i.split("#", 1)[0] for i in ids}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``latentsearch`` in a subprocess of its own (a driver a test may SIGKILL)."""
    return subprocess.Popen(
        [sys.executable, "-m", "latentsearch", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def drop(index: Path, database: str, cluster: str, name: str) -> None:
    """Drop a sharded collection, stopping its (detached) shard actors: they would otherwise hold
    their CPU share for the rest of the session's cluster."""
    import ray

    import latentsearch as ls

    try:
        with ls.connect(index, database=database, cluster=cluster) as db:
            if any(c.name == name for c in db.collections()):
                db.drop_collection(name)
    finally:
        ray.shutdown()  # this test process leaves the cluster as it found it
