"""The answers behind the page's result list, in process on SQLite and PostgreSQL: hits grouped
by document (``documents``), clean snippets (``preview``) of the Markdown, RST and HTML samples,
``why`` on expressions, and image thumbnails (``?size=``), all under the caller's permissions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from resultskit import GUIDE_SECRET, MARKUP, build_samples
from serverkit import Keys, build

from latentsearch.server import Settings, create_app


@pytest.fixture
def site(index_path: Path, database: str | None, quick_clip_path: Path):
    keys = build(index_path, database, images=quick_clip_path)
    build_samples(index_path, database)
    app = create_app(Settings(index=index_path, database=database, device="cpu", warm=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, keys


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def check_grouping(data: dict) -> None:
    """Every hit in exactly one document, documents in the order of their best hit."""
    hits, docs = data["hits"], data["documents"]
    assert sorted(i for d in docs for i in d["hits"]) == list(range(len(hits)))
    assert [d["rank"] for d in docs] == sorted(d["rank"] for d in docs)
    assert len({d["doc_id"] for d in docs}) == len(docs)
    for d in docs:
        assert d["rank"] == d["hits"][0] + 1 and d["hits"] == sorted(d["hits"])
        assert d["score"] == hits[d["hits"][0]]["score"]
        for i in d["hits"]:
            assert hits[i]["citation"]["doc_id"] == d["doc_id"]
            assert hits[i]["source"]["title"] == d["title"]


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_documents_group_passages_and_previews_are_clean(
    site: tuple[TestClient, Keys], mode: str
) -> None:
    api, keys = site
    body = {"text": "vpn disconnects on windows laptops", "k": 30, "mode": mode}
    data = api.post("/collections/samples/search", json=body, headers=h(keys.bob)).json()
    check_grouping(data)
    vpn = next(d for d in data["documents"] if d["doc_id"] == "runbooks/vpn-troubleshooting.md")
    assert len(vpn["hits"]) > 1  # several passages folded under one document
    formats = set()
    for hit in data["hits"]:
        p = hit["preview"]
        formats.add(p["format"])
        assert p["text"] and not any(m in p["text"] for m in MARKUP), p
        for s in p["highlights"]:
            assert p["text"][s["start"] : s["end"]].strip()
        # the citation stays exact: it is the raw text, located in the document
        c = hit["citation"]
        assert c["snippet"] in hit["text"] and c["end"] - c["start"] == len(c["snippet"])
    assert "markdown" in formats


def test_every_sample_format_previews_as_plain_text(site: tuple[TestClient, Keys]) -> None:
    api, keys = site
    seen = {}
    for q in ("promote the replica", "refund annual plans", "badge kiosk lobby", "vpn handshake"):
        r = api.post(
            "/collections/samples/search", json={"text": q, "k": 10}, headers=h(keys.alice)
        )
        for hit in r.json()["hits"]:
            seen.setdefault(hit["preview"]["format"], hit["preview"]["text"])
            assert not any(m in hit["preview"]["text"] for m in MARKUP), hit["preview"]
    assert {"markdown", "rst", "html"} <= set(seen)
    kiosk = api.get("/collections/samples/item?id=kiosk", headers=h(keys.alice)).json()
    assert "<b>badge kiosk</b>" in kiosk["text"]  # stored as written; shown clean


def test_a_hidden_passage_is_never_folded_under_a_visible_document(
    site: tuple[TestClient, Keys],
) -> None:
    api, keys = site
    body = {"text": "parking garage", "k": 50, "mode": "hybrid"}
    for key, expected in ((keys.alice, {"guide#1", "guide#2"}), (keys.bob, {"guide#1"})):
        data = api.post("/collections/samples/search", json=body, headers=h(key)).json()
        check_grouping(data)
        guide = next(d for d in data["documents"] if d["doc_id"] == "guide")
        assert {data["hits"][i]["id"] for i in guide["hits"]} == expected
        if key == keys.bob:
            assert "wireguard" not in str(data) and GUIDE_SECRET not in str(data)


def test_expressions_answer_why_and_documents(site: tuple[TestClient, Keys]) -> None:
    api, keys = site
    body = {"expr": '"vpn outage" - "windows"', "k": 20}
    data = api.post("/collections/samples/query", json=body, headers=h(keys.alice)).json()
    check_grouping(data)
    assert data["hits"] and all(set(x["why"]) == {"vpn outage", "windows"} for x in data["hits"])


def test_thumbnails_fit_the_size_and_follow_permissions(site: tuple[TestClient, Keys]) -> None:
    api, keys = site
    r = api.get("/collections/photos/image?id=green-triangle&size=32", headers=h(keys.bob))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "JPEG" and max(img.size) == 32
    full = api.get("/collections/photos/images/green-triangle", headers=h(keys.bob))
    assert full.status_code == 200 and full.content != r.content  # no size: the file as stored
    assert Image.open(io.BytesIO(full.content)).size != img.size
    hidden = api.get("/collections/photos/image?id=red-circle&size=32", headers=h(keys.bob))
    missing = api.get("/collections/photos/image?id=no-such&size=32", headers=h(keys.bob))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"].replace("red-circle", "X") == missing.json()["error"].replace(
        "no-such", "X"
    )
    for bad in ("0", "8", "5000", "x"):
        r = api.get(f"/collections/photos/image?id=green-triangle&size={bad}", headers=h(keys.bob))
        assert r.status_code == 422 and r.json()["error"].startswith("size:")
    text = api.get("/collections/samples/image?id=kiosk&size=32", headers=h(keys.bob))
    assert text.status_code == 404  # a text item has no image
