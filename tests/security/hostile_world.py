"""The world the hostile-input catalogue runs in: one index with three collections, an app, keys,
fixture files, a FIFO watcher and store snapshots. Built once per module and database."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from hostile_cases import DOCS_TEXT0, ZERO_IMAGE, File, Vec
from PIL import Image
from sqlalchemy import select

import latentsearch as ls
from latentsearch.server import Settings, create_app, keystore
from latentsearch.store import items as sql
from latentsearch.store.engine import SQLITE_FILE
from latentsearch.store.models import ItemRow
from latentsearch.testing.tinyclip import shape_image

MAX_BODY = 1 << 20  # the app's body limit here, so "too large" bodies stay small

DOCS = [
    {
        "id": "d0",
        "text": DOCS_TEXT0,
        "metadata": {"team": "eng", "n": 0},
        "acl": ["group:eng"],
        "source": {"uri": "https://wiki.example/vpn", "title": "VPN runbook"},
    },
    {
        "id": "d1",
        "text": "Holiday calendar: offices close on public holidays.",
        "metadata": {"team": "hr", "n": 1, "tags": ["a", "b"]},
        "acl": ["*"],
    },
    {
        "id": "d2",
        "text": "Install the VPN client on macOS laptops.",
        "metadata": {"team": "it", "n": 2, "deep": {"x": [1, 2]}},
        "acl": ["*"],
    },
    {
        "id": "d3",
        "text": "Q3 pipeline review: the renewal slipped.",
        "metadata": {"team": "sales", "n": 3},
        "acl": ["group:sales"],
    },
    {
        "id": "runbooks/db.md",
        "text": "Database failover: promote the replica.",
        "metadata": {"team": "eng", "n": 4},
        "acl": ["group:eng"],
    },
]


@dataclass
class World:
    root: Path
    index: Path
    database: str | None
    db: ls.Database  # the inspector: snapshots and Python API calls
    client: TestClient
    keys: dict[str, str]
    files: dict[str, Path]
    records: dict[str, dict[str, dict[str, Any]]]  # collection -> id -> the record as added
    probes: dict[str, Any]
    fifo: FifoWatch
    baseline: dict[tuple[str, bool], Any] = field(default_factory=dict)  # (name, app) -> state

    # -- inputs ------------------------------------------------------------------------
    def resolve(self, value: Any, *, http: bool = False, depth: int = 0) -> Any:
        """Fixture names to paths, `Vec` to arrays (lists over HTTP), ZERO_IMAGE to an image.

        Placeholders sit near the top; deeper values (the 900-level filters) are taken as they
        are, so that resolving them cannot itself hit Python's recursion limit."""
        if depth > 16:
            return value
        if isinstance(value, File):
            return str(self.files[value.name]) if http else self.files[value.name]
        if isinstance(value, Vec):
            arr = np.full(value.shape, value.fill, dtype=value.dtype)
            return arr.tolist() if http else arr
        if value is ZERO_IMAGE:
            return Image.new("RGB", (0, 0))
        if isinstance(value, str):
            for name, path in self.files.items():
                value = value.replace("{" + name + "}", str(path))
            return value
        if isinstance(value, dict):
            return {k: self.resolve(v, http=http, depth=depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, http=http, depth=depth + 1) for v in value]
        return value

    # -- the store, before and after ---------------------------------------------------
    def snapshot(self, name: str) -> tuple[Any, ...]:
        """Rows (ids, content hashes, metadata, ACLs, sources), vectors, and index answers."""
        col = self.db.collection(name)
        col.sync()
        with self.db.store.session() as s:
            rows = s.scalars(
                select(ItemRow).where(ItemRow.collection_id == col.id).order_by(ItemRow.external_id)
            ).all()
            pks = [r.id for r in rows]
            acls = sql.principals_of(s, pks)
            vecs = sql.vectors_for(s, pks, col.dim)
            data = tuple(
                (
                    r.external_id,
                    r.kind,
                    r.text,
                    r.content_hash,
                    json.dumps(r.meta, sort_keys=True),
                    r.source_uri,
                    r.source_title,
                    r.parent_id,
                    tuple(acls[r.id]),
                    vecs[i].tobytes(),
                )
                for i, r in enumerate(rows)
            )
        in_index = tuple(col.index.ids().tolist()) == tuple(sorted(pks))
        return data, in_index, self.answers(col, name)

    def answers(self, col: ls.Collection, name: str) -> tuple[tuple[str, float], ...]:
        """A fixed probe search over the whole collection: ids and scores."""
        hits = col.search(self.probes[name], k=max(1, len(col)))
        return tuple((h.id, h.score) for h in hits)

    def app_answers(self, name: str) -> tuple[tuple[str, float], ...]:
        """The same probe through the app's own open collection (its FAISS index in memory)."""
        col = self.client.app.state.ls.db.collection(name)  # type: ignore[attr-defined]
        return self.answers(col, name)

    @contextmanager
    def unchanged(self, name: str, *, app: bool = False) -> Iterator[None]:
        """Assert the collection is exactly as before the block (restoring it if not), also when
        the block failed: a case that wrote must not spoil the cases after it."""
        if (name, False) not in self.baseline:  # cached: the store only changes when a case fails
            self.baseline[(name, False)] = self.snapshot(name)
        if app and (name, True) not in self.baseline:
            self.baseline[(name, True)] = self.app_answers(name)
        before = self.baseline[(name, False)]
        opened = self.fifo.opened
        failed: BaseException | None = None
        try:
            yield
        except BaseException as exc:  # checked below, then raised again
            failed = exc
        try:
            after = self.snapshot(name)
        except Exception as exc:  # what was stored cannot even be read back
            self.repair(name, before)
            raise AssertionError(f"the store cannot be read back: {exc!r}") from failed
        if after != before:
            self.repair(name, before)
            raise AssertionError(f"the store changed: {_describe(before, after)}") from failed
        if failed is not None:
            raise failed
        assert self.fifo.opened == opened, "the call opened a FIFO (it hangs until a writer comes)"
        if app:
            assert self.app_answers(name) == self.baseline[(name, True)], (
                "the app's answers changed"
            )

    def repair(self, name: str, before: tuple[Any, ...]) -> None:
        """Put back the rows a failed case changed, so later cases start from the corpus."""
        col = self.db.collection(name)
        want = {row[0] for row in before[0]}
        with self.db.store.session() as s:
            have = set(
                s.scalars(select(ItemRow.external_id).where(ItemRow.collection_id == col.id))
            )
        if have - want:
            col.delete(sorted(have - want))
        originals = [r for i, r in self.records[name].items() if i in want]
        col.upsert(originals)
        self.baseline.pop((name, True), None)  # the app's index may differ until it syncs


def _describe(before: tuple[Any, ...], after: tuple[Any, ...]) -> str:
    b = {r[0]: r for r in before[0]}
    a = {r[0]: r for r in after[0]}
    parts = []
    if set(a) - set(b):
        parts.append(f"new ids {sorted(set(a) - set(b))!r}")
    if set(b) - set(a):
        parts.append(f"lost ids {sorted(set(b) - set(a))!r}")
    changed = [i for i in set(a) & set(b) if a[i] != b[i]]
    if changed:
        parts.append(f"changed rows {sorted(changed)!r}")
    if before[1] != after[1]:
        parts.append("index no longer equals the store")
    if before[2] != after[2] and not parts:
        parts.append("probe answers differ")
    return "; ".join(parts) or "snapshots differ"


class FifoWatch:
    """Opens the FIFO's write end whenever a reader waits on it: the reader gets EOF instead of
    hanging, and ``opened`` counts how often something opened the pipe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody reads
                time.sleep(0.02)
                continue
            self.opened += 1
            os.close(fd)
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def make_files(root: Path, index: Path) -> dict[str, Path]:
    files = {"fifo": root / "pipe.png", "dir": root / "folder.png", "missing": root / "nope.png"}
    os.mkfifo(files["fifo"])
    files["dir"].mkdir()
    files["notimage"] = root / "notes.png"
    files["notimage"].write_text("not an image at all\n")
    files["passwd"] = Path("/etc/passwd")
    good = root / "good.png"
    shape_image("red", "circle").save(good)
    files["truncated"] = root / "truncated.png"
    files["truncated"].write_bytes(good.read_bytes()[:60])
    files["big"] = root / "big.png"  # 41M pixels, a few kB: over the 40M-pixel upload limit
    Image.new("1", (6400, 6400)).save(files["big"])
    files["dbfile"] = index / SQLITE_FILE
    files["corrupt"] = root / "corrupt"
    files["corrupt"].mkdir()
    (files["corrupt"] / SQLITE_FILE).write_bytes(b"SQLite format 3\x00" + b"garbage" * 600)
    return files


def build_world(root: Path, database: str | None, clip: Path) -> World:
    index = root / "idx"
    db = ls.connect(index, database=database, device="cpu")
    files = make_files(root, index)
    records: dict[str, dict[str, dict[str, Any]]] = {}
    docs = db.create_collection("docs", encoder="text", index="Flat")
    docs.add(DOCS)
    records["docs"] = {r["id"]: r for r in DOCS}
    raw = db.create_collection("raw", dim=8, index="Flat")
    vecs = np.random.default_rng(7).normal(size=(6, 8)).astype(np.float32)
    raw_recs = [{"id": f"v{i}", "vector": vecs[i], "metadata": {"n": i}} for i in range(6)]
    raw.add(raw_recs)
    records["raw"] = {r["id"]: r for r in raw_recs}
    photos = db.create_collection("photos", encoder=str(clip), index="Flat")
    folder = index / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    pics = []
    for color, shape, acl in (
        ("red", "circle", ["group:sales"]),
        ("blue", "square", ["*"]),
        ("green", "triangle", ["*"]),
    ):
        path = folder / f"{color}-{shape}.png"
        shape_image(color, shape).save(path)
        pics.append(
            {"id": f"{color}-{shape}", "image": str(path), "acl": acl, "metadata": {"color": color}}
        )
    gone = folder / "gone.png"
    shape_image("blue", "circle").save(gone)
    pics.append({"id": "gone", "image": str(gone), "acl": ["*"]})
    photos.add(pics)
    gone.unlink()  # an item whose image file has left the disk
    records["photos"] = {r["id"]: r for r in pics if r["id"] != "gone"}
    files["gallery"] = folder / "red-circle.png"  # a hidden item's image (ACL group:sales)
    with db.store.transaction() as s:
        keys = {
            "reader": keystore.create_key(s, "alice", ["eng"], "reader").key,
            "admin": keystore.create_key(s, "root", [], "admin").key,
        }
    app = create_app(
        Settings(index=index, database=database, device="cpu", max_body_bytes=MAX_BODY)
    )
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    # An uploaded image, then its item deleted: its file stays under uploads/ by content hash.
    import base64

    buf = root / "upload.png"
    shape_image("green", "circle").save(buf)
    body = {"records": [{"id": "upl", "image": base64.b64encode(buf.read_bytes()).decode()}]}
    auth = {"Authorization": f"Bearer {keys['admin']}"}
    assert client.put("/collections/photos/items", json=body, headers=auth).status_code == 200
    assert (
        client.request(
            "DELETE", "/collections/photos/items", json={"ids": ["upl"]}, headers=auth
        ).status_code
        == 200
    )
    (files["upload"],) = sorted((index / "uploads").glob("*.png"))
    probes = {
        "docs": "vpn outage on laptops",
        "raw": np.ones(8, dtype=np.float32),
        "photos": "a red circle",
    }
    return World(
        root, index, database, db, client, keys, files, records, probes, FifoWatch(files["fifo"])
    )


def close_world(w: World) -> None:
    w.fifo.stop()
    w.client.__exit__(None, None, None)
    w.db.close()
