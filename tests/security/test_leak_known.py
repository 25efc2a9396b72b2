"""The leaks issue 11 found, as explicit cases over HTTP (one live server per database).

* A writer learns about a hidden item: POST of its id gave 409, PUT gave 403 (defect 7), and a
  PUT without an id whose text collides with a hidden item took it over (defect 2).
* BM25 scores reveal whether a hidden document contains a word (defect 7).
* `image:` paths over HTTP open server files and answer differently for a file, a missing path
  and a directory: an existence oracle for the whole disk (defect 1).
* `/images/{id}`: a hidden id must be answered as a missing one; a vanished file is a 404, not a
  500 (defect 4); responses never show server paths (defect 8).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pgkit import PG_URL
from query_support import database as open_database

from latentsearch.server import keystore
from latentsearch.testing.server_process import running_server

ENG, CEO = "group:eng", "user:ceo"


@dataclass
class Server:
    http: httpx.Client
    writer: str  # wendy, group eng
    reader: str  # alice, group eng
    admin: str
    owner: str  # the ceo: the hidden items' owner
    derived: str  # the id of a hidden item added without an id
    index: Path
    pictures: Path
    model: Path

    def call(self, method: str, path: str, key: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kw)


@pytest.fixture(scope="module")
def server(
    kind: str, quick_clip_path: Path, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[Server]:
    from latentsearch.testing.tinyclip import shape_image

    folder = tmp_path_factory.mktemp("known")
    index, pictures = folder / "index", folder / "pictures"
    pictures.mkdir()
    with open_database(kind, index, pg_admin, PG_URL) as db:
        notes = db.create_collection("notes", encoder="text", require_principals=True)
        notes.add(
            [
                {"id": "secret", "text": "the merger plan with acme", "acl": [CEO]},
                {"id": "public", "text": "the holiday calendar", "acl": ["*"]},
            ]
        )
        # Added without an id: its id is derived from its content.
        (derived,) = notes.add([{"text": "the acquisition target list", "acl": [CEO]}]).ids
        db.create_collection("probe", dim=4, index="Flat").add(
            [
                {"id": "pub", "vector": [1, 0, 0, 0], "source": {"title": "nebula report"}},
                {"id": "pub2", "vector": [0, 1, 0, 0], "source": {"title": "plain report"}},
                {"id": "pub3", "vector": [0, 0, 0, 1], "source": {"title": "plain report"}},
            ]
        )
        photos = db.create_collection(
            "photos", encoder=str(quick_clip_path), require_principals=True
        )
        recs = []
        for color, shape, acl in (("red", "circle", [ENG]), ("blue", "square", [CEO])):
            path = pictures / f"{color}-{shape}.png"
            shape_image(color, shape).save(path)
            recs.append({"id": f"{color}-{shape}", "image": str(path), "acl": acl})
        photos.add(recs)
        with db.store.transaction() as s:
            writer = keystore.create_key(s, "wendy", ["eng"], "writer").key
            reader = keystore.create_key(s, "alice", ["eng"], "reader").key
            admin = keystore.create_key(s, "root", [], "admin").key
            owner = keystore.create_key(s, "ceo", [], "reader").key
        database = None if kind == "sqlite" else db.store.engine.url.render_as_string(False)
        db.close()
        workers = 1 if kind == "sqlite" else 2
        with (
            running_server(index, database, workers=workers) as base,
            httpx.Client(base_url=base, timeout=60) as http,
        ):
            yield Server(
                http, writer, reader, admin, owner, derived, index, pictures, quick_clip_path
            )


def _same(a: httpx.Response, b: httpx.Response, swap: tuple[str, str] = ("", "")) -> None:
    """Byte-identical status and body, once ``swap[0]`` in ``a`` is read as ``swap[1]``."""
    assert (a.status_code, a.text.replace(*swap)) == (b.status_code, b.text), (
        f"{a.status_code} {a.text!r}\n!=\n{b.status_code} {b.text!r}"
    )


# -- writers -----------------------------------------------------------------------------------
def test_post_and_put_of_a_hidden_id_answer_alike(server: Server) -> None:
    """POST gave 409 "already exist" and PUT 403 "may not change": two answers, one hidden item."""
    body = {"records": [{"id": "secret", "text": "my own note"}]}
    post = server.call("POST", "/collections/notes/items", server.writer, json=body)
    put = server.call("PUT", "/collections/notes/items", server.writer, json=body)
    assert post.status_code != 500 and put.status_code != 500
    assert (post.status_code, post.json()) == (put.status_code, put.json()), (
        f"POST {post.status_code} {post.text} vs PUT {put.status_code} {put.text}"
    )
    assert "exist" not in post.text, f"the answer confirms the hidden id exists: {post.text}"
    after = server.call("GET", "/collections/notes/items/secret", server.owner)
    assert after.status_code == 200, f"the owner lost the hidden item: {after.text}"
    assert after.json()["acl"] == [CEO] and after.json()["text"] == "the merger plan with acme"


def test_a_put_whose_text_collides_with_a_hidden_item_does_not_take_it_over(
    server: Server,
) -> None:
    """No id: the content-derived id equals the hidden item's (defect 2)."""
    body = {"records": [{"text": "the acquisition target list", "acl": [ENG]}]}
    r = server.call("PUT", "/collections/notes/items", server.writer, json=body)
    fresh = server.call(
        "PUT",
        "/collections/notes/items",
        server.writer,
        json={"records": [{"text": "a text nobody wrote before", "acl": [ENG]}]},
    )
    assert (r.status_code, r.json()["added"], r.json()["updated"]) == (
        fresh.status_code,
        fresh.json()["added"],
        fresh.json()["updated"],
    ), f"collision {r.text} vs new text {fresh.text}"
    owner = server.call("GET", f"/collections/notes/items/{server.derived}", server.owner)
    assert owner.status_code == 200, f"the owner lost the hidden item: {owner.text}"
    assert owner.json()["acl"] == [CEO], f"the hidden item's ACL was replaced: {owner.text}"


# -- keyword scores ----------------------------------------------------------------------------
def test_bm25_scores_do_not_reveal_hidden_words(server: Server) -> None:
    """A reader's score for a visible document, before and after the owner adds a hidden
    document containing the word (over the same collection, so SQLite's database-wide keyword
    statistics and PostgreSQL's per-collection ones are both probed)."""

    def score() -> float:
        r = server.call(
            "POST",
            "/collections/probe/search",
            server.reader,
            json={"text": "nebula", "mode": "keyword", "k": 5},
        )
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["hits"]] == ["pub"]
        return float(r.json()["hits"][0]["score"])

    before = score()
    hidden = {"id": "h", "vector": [0, 0, 1, 0], "source": {"title": "nebula nebula"}, "acl": [CEO]}
    r = server.call("PUT", "/collections/probe/items", server.admin, json={"records": [hidden]})
    assert r.status_code == 200, r.text
    try:
        after = score()
    finally:
        server.call("DELETE", "/collections/probe/items", server.admin, json={"ids": ["h"]})
    assert before == after, f"a hidden 'nebula' document changed the score: {before} -> {after}"


# -- image: paths ------------------------------------------------------------------------------
def test_image_paths_over_http_are_refused_alike(server: Server) -> None:
    """Whatever the path names (an image, a text file, nothing, a folder, the database), the same
    refusal, and the server never opens it."""
    paths = [
        str(server.pictures / "blue-square.png"),  # a hidden item's image file
        str(server.pictures / "red-circle.png"),  # a visible item's image file
        "/etc/passwd",
        "/nonexistent/x.png",
        str(server.pictures),
        str(server.index / "latentsearch.db"),
    ]
    answers = {}
    for p in paths:
        r = server.call(
            "POST",
            "/collections/photos/query",
            server.reader,
            json={"expr": f'image:"{p}"', "k": 3},
        )
        answers[p] = (r.status_code, r.text.replace(p, "PATH"))
    assert all(400 <= s < 500 for s, _ in answers.values()), answers
    assert len(set(answers.values())) == 1, f"answers differ by path: {answers}"


def test_image_ref_to_a_hidden_item_is_answered_as_a_missing_one(server: Server) -> None:
    hidden = server.call(
        "POST", "/collections/photos/query", server.reader, json={"expr": "image:@blue-square"}
    )
    missing = server.call(
        "POST", "/collections/photos/query", server.reader, json={"expr": "image:@green-star"}
    )
    _same(hidden, missing, ("blue-square", "green-star"))


# -- /images/{id} ------------------------------------------------------------------------------
def test_image_route_answers_a_hidden_id_as_a_missing_one(server: Server) -> None:
    hidden = server.call("GET", "/collections/photos/images/blue-square", server.reader)
    missing = server.call("GET", "/collections/photos/images/green-star", server.reader)
    assert missing.status_code == 404
    _same(hidden, missing, ("blue-square", "green-star"))
    mine = server.call("GET", "/collections/photos/images/red-circle", server.reader)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"


def test_image_route_for_a_vanished_file_is_a_404(server: Server) -> None:
    png = io.BytesIO()
    from latentsearch.testing.tinyclip import shape_image

    shape_image("green", "triangle").save(png, format="PNG")
    r = server.call(
        "POST",
        "/collections/photos/items",
        server.writer,
        json={"records": [{"id": "gone", "image": base64.b64encode(png.getvalue()).decode()}]},
    )
    assert r.status_code == 201, r.text
    for f in server.index.rglob("*.png"):  # the upload, wherever the server keeps it
        if f.stat().st_size == len(png.getvalue()) and f.read_bytes() == png.getvalue():
            f.unlink()
    r = server.call("GET", "/collections/photos/images/gone", server.reader)
    assert r.status_code == 404, f"{r.status_code} {r.text}"


def test_responses_never_show_server_paths(server: Server) -> None:
    """Image hits, items and /collections show no absolute path of the server's disk."""
    texts = [
        server.call("GET", "/collections", server.reader).text,
        server.call("GET", "/collections/photos/items/red-circle", server.reader).text,
        server.call(
            "POST", "/collections/photos/search", server.reader, json={"text": "a red circle"}
        ).text,
    ]
    for t in texts:
        for secret in (str(server.pictures), str(server.index), str(server.model)):
            assert secret not in t, f"{secret} in {t[:500]}"
