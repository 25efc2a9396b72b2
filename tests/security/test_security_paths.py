"""Paths and files (issue 11, defects 1, 4, 6 and 8): what an image term may name, which files
the server opens, ids with '/', a vanished image file, and server paths in responses.

One CLIP index per module (the tiny CLIP model), served in process by the real app (TestClient).
An audit hook (``sys.addaudithook``) sees every file Python opens, so the tests can assert that
no request, and no Python API call, opens the store's database file.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import struct
import sys
import threading
import traceback
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from serverkit import Keys, build

import latentsearch as ls
from latentsearch.encoders.images import MAX_IMAGE_BYTES, MAX_PIXELS
from latentsearch.errors import ImageError, ItemNotFoundError
from latentsearch.ingest.build import build as build_sources
from latentsearch.ingest.options import BuildOptions
from latentsearch.server import Settings, create_app
from latentsearch.store.engine import SQLITE_FILE

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


# -- the audit hook: every "open" of a watched file, with the Python stack that opened it -------
class Opens:
    def __init__(self) -> None:
        self.watched: set[str] = set()
        self.seen: list[tuple[str, str, str]] = []  # (event, path, stack)
        self.on = False

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.on or event not in ("open", "sqlite3.connect") or not args:
            return
        target = args[0]
        if isinstance(target, int) or target is None:
            return
        try:
            path = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError):
            return
        if path in self.watched:
            stack = "".join(traceback.format_stack(limit=40))
            self.seen.append((event, path, stack))

    def record(self, *paths: Path) -> Opens:
        self.watched = {os.path.realpath(p) for p in paths}
        self.seen.clear()
        self.on = True
        return self

    def stop(self) -> list[tuple[str, str, str]]:
        self.on = False
        return list(self.seen)


OPENS = Opens()
sys.addaudithook(OPENS.hook)  # cannot be removed; it does nothing unless recording


def outside_store(seen: list[tuple[str, str, str]]) -> list[str]:
    """Opens of a watched file by anything but the store's own SQLite engine (SQLAlchemy)."""
    return [
        f"{event} {path}\n{stack}"
        for event, path, stack in seen
        if not (event == "sqlite3.connect" and "sqlalchemy" in stack)
    ]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data: never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def b64_png(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def bounded(fn: Callable[[], Any], fifo: Path, seconds: float = 60) -> Any:
    """Run ``fn`` with a time limit; if it blocks on ``fifo``, unblock it and fail."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the test thread
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a blocked reader gets EOF
        os.close(fd)
        t.join(10)
        pytest.fail(f"reading the FIFO {fifo} blocked for {seconds} s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


# -- one index for the module --------------------------------------------------------------------
class World:
    root: Path
    index: Path
    db_file: Path
    corpus: Path
    keys: Keys
    api: TestClient
    upload: Path
    fifo: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_clip_path: Path) -> Iterator[World]:
    w = World()
    w.root = tmp_path_factory.mktemp("paths")
    w.index = w.root / "index"
    w.db_file = w.index / SQLITE_FILE
    w.keys = build(w.index, None, images=tiny_clip_path)
    # A build from a folder with subfolders: ids like runbooks/vpn.md, file:// source URIs.
    w.corpus = w.root / "corpus"
    (w.corpus / "runbooks").mkdir(parents=True)
    (w.corpus / "runbooks" / "vpn.md").write_text("# VPN\n\nRestart the gateway.\n")
    (w.corpus / "shots").mkdir()
    shutil.copy(SAMPLES / "red_circle.png", w.corpus / "shots" / "red_circle.png")
    shutil.copy(SAMPLES / "blue_cross.png", w.corpus / "shots" / "blue_cross.png")
    with ls.connect(w.index, device="cpu") as db:
        col = db.collection("photos")
        build_sources(db, col, BuildOptions(sources=[str(w.corpus)], acl=["*"]))
    w.fifo = w.root / "fifo"
    os.mkfifo(w.fifo)
    (w.root / "notes.txt").write_text("not an image")
    (w.root / "folder").mkdir()
    app = create_app(Settings(index=w.index, database=None, device="cpu"))
    with TestClient(app, raise_server_exceptions=False) as api:
        w.api = api
        img = b64_png(Image.new("RGB", (8, 8), "purple"))
        r = api.put(
            "/collections/photos/items",
            json={"records": [{"id": "upload-1", "image": img, "acl": ["group:eng"]}]},
            headers=h(w.keys.writer),
        )
        assert r.status_code == 200, r.text
        (w.upload,) = (w.index / "uploads").glob("*.png")
        yield w


def hostile_paths(w: World) -> dict[str, Path]:
    """Paths a reader might name: the store's own files, another's upload, and the usual probes."""
    return {
        "db": w.db_file,
        "wal": Path(f"{w.db_file}-wal"),
        "index-folder": w.index,
        "upload": w.upload,
        "passwd": Path("/etc/passwd"),
        "missing": w.root / "no-such-file.png",
        "folder": w.root / "folder",
        "text": w.root / "notes.txt",
        "fifo": w.fifo,
    }


# -- defect 1: over HTTP an image term never names a file ------------------------------------------
def test_http_image_terms_naming_paths_are_one_422_and_open_nothing(world: World) -> None:
    paths = hostile_paths(world)
    answers = {}
    OPENS.record(*paths.values())
    try:
        for name, path in paths.items():
            for expr in (f"image:{path}", f'image:"{path}" + "a red circle"'):
                r = bounded(
                    lambda e=expr: world.api.post(
                        "/collections/photos/query", json={"expr": e}, headers=h(world.keys.alice)
                    ),
                    world.fifo,
                )
                answers[(name, expr)] = (r.status_code, r.text.replace(str(path), "P"))
            r = world.api.post(
                "/collections/photos/analogy",
                json={"positive": [{"image": "x"}], "negative": [str(path)]},
                headers=h(world.keys.alice),
            )
            assert r.status_code == 422, r.text
            # Text is text: a CLIP model must not read a str naming an image file as that file.
            for body in ({"text": str(path)}, {"text": str(path), "mode": "hybrid"}):
                r = world.api.post(
                    "/collections/photos/search", json=body, headers=h(world.keys.alice)
                )
                assert r.status_code == 200, r.text
            r = world.api.post(
                "/collections/photos/query", json={"expr": f'"{path}"'}, headers=h(world.keys.alice)
            )
            assert r.status_code == 200, r.text
    finally:
        seen = OPENS.stop()
    bad = outside_store(seen)  # the store's own engine connects to its database: that is fine
    assert not bad, "the server opened a path a request named:\n" + "\n\n".join(bad)
    # One answer for every path (no existence oracle), a 422 that names no file's content.
    assert len(set(answers.values())) == 1, answers
    status, message = next(iter(answers.values()))
    assert status == 422 and "no image named 'P' was sent with this request" in message, message


def test_no_code_path_outside_the_store_opens_its_database_file(world: World) -> None:
    db_files = [world.db_file, Path(f"{world.db_file}-wal"), Path(f"{world.db_file}-shm")]
    OPENS.record(*db_files)
    try:
        for f in db_files:
            r = world.api.post(
                "/collections/photos/query", json={"expr": f"image:{f}"}, headers=h(world.keys.bob)
            )
            assert r.status_code == 422
            r = world.api.get("/collections/photos/items/red-circle", headers=h(world.keys.alice))
            assert r.status_code == 200
        with ls.connect(world.index, device="cpu") as db:  # the Python API: the caller's own disk
            col = db.collection("photos")
            for f in db_files:
                with pytest.raises(ImageError):
                    col.query(f"image:{f}", principals=["*"])
                with pytest.raises(ImageError):
                    col.search(f, principals=["*"])
                with pytest.raises(ImageError):
                    col.search({"image": str(f)}, principals=["*"])
                with pytest.raises(ImageError):
                    col.analogy([{"image": str(f)}], principals=["*"])
                with pytest.raises(ImageError):
                    col.add([{"id": "db-as-image", "image": str(f)}])
                col.search(str(f), principals=["*"])  # text, never read as a file
    finally:
        seen = OPENS.stop()
    bad = outside_store(seen)
    assert not bad, "opened outside the store:\n" + "\n\n".join(bad)
    assert any(e == "sqlite3.connect" for e, _, _ in seen)  # the hook does see the store itself


# -- defect 1: the Python API reads local files, regular ones only, with one message --------------
def test_python_api_path_errors_are_one_message_and_never_block(world: World) -> None:
    big = world.root / "big.png"
    big.write_bytes(png_header(7000, 7000))  # 49M pixels claimed: refused before decoding
    sparse = world.root / "sparse.png"
    with open(sparse, "wb") as f:
        f.truncate(MAX_IMAGE_BYTES + 1)
    paths = {**hostile_paths(world), "too-many-pixels": big, "too-many-bytes": sparse}
    del paths["upload"]  # a valid image file: the Python API's caller owns the disk
    messages = {}
    with ls.connect(world.index, device="cpu") as db:
        col = db.collection("photos")
        for name, path in paths.items():
            for q in (
                lambda p=path: col.search(p, principals=["*"]),
                lambda p=path: col.query(f"image:{p}", principals=["*"]),
            ):
                with pytest.raises(ImageError) as err:
                    bounded(q, world.fifo)
                messages[name] = str(err.value).replace(repr(str(path)), "P").split(": ", 1)[-1]
        ok = col.query(f"image:{world.corpus / 'shots' / 'red_circle.png'}", principals=["*"])
        assert ok and ok[0].id == "shots/red_circle.png"
    assert len(set(messages.values())) == 1, messages
    assert str(MAX_PIXELS) in next(iter(messages.values()))


def test_a_fifo_is_never_opened_by_an_image_load(world: World) -> None:
    from latentsearch.encoders.images import load_image

    with pytest.raises(ImageError):
        bounded(lambda: load_image(world.fifo), world.fifo, seconds=20)


def test_a_0x0_image_is_an_image_error(world: World) -> None:
    empty = Image.new("RGB", (0, 0))
    with ls.connect(world.index, device="cpu") as db:
        col = db.collection("photos")
        with pytest.raises(ImageError, match="empty"):
            col.search(empty, principals=["*"])
        with pytest.raises(ImageError, match="empty"):
            col.query("image:e", images={"e": empty}, principals=["*"])


# -- image:@id and images sent with the request ----------------------------------------------------
def test_image_at_id_is_the_item(world: World) -> None:
    with ls.connect(world.index, device="cpu") as db:
        col = db.collection("photos")
        a = col.query("image:@green-triangle", principals=["*"])
        b = col.query("@green-triangle", principals=["*"])
        assert [x.id for x in a] == [x.id for x in b] and "green-triangle" not in [x.id for x in a]
        with pytest.raises(ItemNotFoundError):
            col.query("image:@red-circle", principals=["group:sales"])
    for expr in ('image:@green-triangle + "a circle"', 'image:"@green-triangle" + "a circle"'):
        r = world.api.post(
            "/collections/photos/query", json={"expr": expr}, headers=h(world.keys.bob)
        )
        assert r.status_code == 200, r.text
    hidden = world.api.post(
        "/collections/photos/query", json={"expr": "image:@red-circle"}, headers=h(world.keys.bob)
    )
    missing = world.api.post(
        "/collections/photos/query", json={"expr": "image:@red-circlf"}, headers=h(world.keys.bob)
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"].replace("red-circle", "X") == missing.json()["error"].replace(
        "red-circlf", "X"
    )


def test_http_query_and_analogy_with_uploaded_images(world: World) -> None:
    red = b64_png(Image.open(SAMPLES / "red_circle.png"))
    r = world.api.post(
        "/collections/photos/query",
        json={"expr": "image:pic", "images": {"pic": red}, "k": 3},
        headers=h(world.keys.bob),
    )
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["id"] == "shots/red_circle.png"
    assert r.json()["hits"][0]["why"] is None or "image:pic" in r.json()["hits"][0]["why"]
    r = world.api.post(
        "/collections/photos/analogy",
        json={"positive": [{"image": "pic"}], "images": {"pic": red}, "k": 3},
        headers=h(world.keys.bob),
    )
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["id"] == "shots/red_circle.png"
    too_big = base64.b64encode(png_header(7000, 7000)).decode()
    r = world.api.post(
        "/collections/photos/query",
        json={"expr": "image:pic", "images": {"pic": too_big}},
        headers=h(world.keys.bob),
    )
    assert r.status_code == 422 and "too large" in r.json()["error"], r.text
    r = world.api.post(
        "/collections/photos/query",
        json={"expr": "image:pic", "images": {"../x": red}},
        headers=h(world.keys.bob),
    )
    assert r.status_code == 422, r.text


# -- defect 6: ids with '/' ---------------------------------------------------------------------
def test_items_and_images_with_slashes_in_their_ids(world: World) -> None:
    api, key = world.api, h(world.keys.bob)
    for url in (
        "/collections/photos/items/runbooks/vpn.md",
        "/collections/photos/item?id=runbooks/vpn.md",
        "/collections/photos/item?id=runbooks%2Fvpn.md",
    ):
        r = api.get(url, headers=key)
        assert r.status_code == 200, (url, r.text)
        assert r.json()["id"] == "runbooks/vpn.md"
    for url in (
        "/collections/photos/images/shots/red_circle.png",
        "/collections/photos/image?id=shots%2Fred_circle.png",
    ):
        r = api.get(url, headers=key)
        assert r.status_code == 200, (url, r.text)
        assert Image.open(io.BytesIO(r.content)).size == (64, 64)
    hidden = api.get("/collections/photos/image?id=red-circle", headers=key)
    missing = api.get("/collections/photos/image?id=no/such", headers=key)
    assert hidden.status_code == missing.status_code == 404
    r = api.get("/collections/photos/image?id=shots%2Fred_circle.png&size=32", headers=key)
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (32, 32)
    static = Path(ls.__file__).parent / "server" / "static"
    js = "".join((static / name).read_text() for name in ("app.js", "results.js"))
    assert "/image?id=${encodeURIComponent(id)}" in js and "/images/${" not in js


# -- defect 4: an image file gone from disk --------------------------------------------------------
def test_an_image_gone_from_disk_is_404_like_a_missing_item(world: World) -> None:
    for item_id, shot in (
        ("green-triangle", world.index / "pictures" / "green-triangle.png"),
        ("shots/blue_cross.png", world.corpus / "shots" / "blue_cross.png"),
    ):
        kept = shot.read_bytes()
        shot.unlink()
        try:
            for url in (
                f"/collections/photos/images/{item_id}",
                f"/collections/photos/image?id={item_id}",
            ):
                gone = world.api.get(url, headers=h(world.keys.bob))
                missing = world.api.get(url.replace(item_id, "nothing"), headers=h(world.keys.bob))
                assert gone.status_code == missing.status_code == 404, gone.text
                assert gone.json()["error"].replace(item_id, "X") == missing.json()[
                    "error"
                ].replace("nothing", "X")
        finally:
            shot.write_bytes(kept)


# -- defect 8: no server paths in responses --------------------------------------------------------
def test_responses_carry_no_server_paths(world: World) -> None:
    api, key = world.api, h(world.keys.alice)
    cols = api.get("/collections", headers=key).json()
    photos = next(c for c in cols if c["name"] == "photos")
    assert photos["model"] == "tiny-clip"
    responses = [
        api.post("/collections/photos/search", json={"text": "a red circle", "k": 20}, headers=key),
        api.post("/collections/photos/query", json={"expr": '"vpn"', "k": 20}, headers=key),
        api.get("/collections/photos/items/shots/red_circle.png", headers=key),
        api.get("/collections/photos/items/runbooks/vpn.md", headers=key),
        api.get("/collections/photos/items/upload-1", headers=key),
    ]
    for r in responses:
        assert r.status_code == 200, r.text
        assert str(world.root) not in r.text and "file:" not in r.text, r.text
    hits = {x["id"]: x for x in responses[0].json()["hits"]}
    assert hits["shots/red_circle.png"]["source"]["uri"] == "shots/red_circle.png"
    assert responses[3].json()["source"]["uri"] == "runbooks/vpn.md"


def test_build_refuses_images_over_the_limits_per_file(world: World) -> None:
    folder = world.root / "bombs"
    folder.mkdir()
    Image.new("1", (7000, 7000)).save(folder / "bomb.png")  # 49M real pixels in a few KB
    os.mkfifo(folder / "pipe.png")  # never a regular file: the scan passes it by
    with ls.connect(world.index, device="cpu") as db:
        col = db.collection("photos")
        summary = bounded(
            lambda: build_sources(db, col, BuildOptions(sources=[str(folder)], acl=["*"])),
            folder / "pipe.png",
        )
    assert summary.files.failed == 1 and summary.items_written == 0
    assert "too large" in summary.failures[0].reason, summary.failures
