"""Items: add, upsert, get, delete, search; records and columns; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

import latentsearch as ls
from latentsearch.encoders import SentenceTransformerEncoder

DOCS = {
    "cat": "The cat sat on the warm mat by the fire.",
    "dog": "Dogs are loyal animals that love long walks.",
    "market": "Stock markets fell sharply after the interest rate decision.",
    "space": "Black holes bend light because of their enormous gravity.",
}


class CountingEncoder(SentenceTransformerEncoder):
    """The real bundled encoder, counting how many texts it embeds."""

    calls = 0

    def encode_texts(self, texts: Sequence[str], **kw) -> np.ndarray:
        CountingEncoder.calls += len(texts)
        return super().encode_texts(texts, **kw)


def test_add_search_get_delete(db: ls.Database) -> None:
    col = db.create_collection("docs", encoder="text")
    res = col.add(
        texts=list(DOCS.values()),
        ids=list(DOCS),
        metadata=[{"topic": "pets", "n": i} for i in range(4)],
        acl=[["group:eng"], ["*"], None, ["user:bob", "group:eng"]],
        sources=[{"uri": f"file:///docs/{k}.md", "title": k.title()} for k in DOCS],
    )
    assert (res.added, res.updated, res.unchanged) == (4, 0, 0)
    assert len(col) == 4 and col.verify()

    hits = col.search("a kitten resting", k=2)
    assert hits[0].id == "cat" and hits[0].score > hits[1].score
    assert hits[0].text == DOCS["cat"]
    assert hits[0].source == ls.Source(uri="file:///docs/cat.md", title="Cat")
    assert hits[0].metadata == {"topic": "pets", "n": 0}
    assert col.search("galaxies and gravity", k=1)[0].id == "space"

    item = col.get("space")
    assert item.acl == ["group:eng", "user:bob"] and item.kind == "text"
    assert col.get("market").acl == ["*"]  # the documented default visibility
    assert [i.id for i in col.get(["dog", "nope", "cat"])] == ["dog", "cat"]
    with pytest.raises(ls.errors.ItemNotFoundError):
        col.get("nope")

    assert col.delete(["cat", "missing"]).deleted == 1
    assert len(col) == 3 and col.verify()
    assert "cat" not in [h.id for h in col.search("a kitten resting", k=3)]


def test_records_form(db: ls.Database) -> None:
    col = db.create_collection("docs", encoder="text")
    col.add(
        [
            {
                "id": "a",
                "text": "red apples",
                "metadata": {"fruit": True},
                "acl": ["*"],
                "uri": "u://a",
                "title": "A",
            },
            {"id": "b", "text": "green pears", "source": {"uri": "u://b"}},
        ]
    )
    a = col.get("a")
    assert a.source == ls.Source("u://a", "A") and a.metadata == {"fruit": True}
    assert col.get("b").source.uri == "u://b"


def test_generated_ids_are_stable(db: ls.Database) -> None:
    col = db.create_collection("docs", encoder="text")
    first = col.add(texts=["same content", "other content"]).ids
    again = col.upsert(texts=["same content"])
    assert again.ids[0] == first[0] and again.unchanged == 1 and len(col) == 2


def test_upsert_reembeds_only_changed_content(db: ls.Database) -> None:
    enc = CountingEncoder("text", device="cpu")
    col = db.create_collection("docs", encoder=enc)
    col.add(texts=list(DOCS.values()), ids=list(DOCS))
    CountingEncoder.calls = 0
    before = col.get("dog")

    res = col.upsert(texts=list(DOCS.values()), ids=list(DOCS))
    assert (res.added, res.updated, res.unchanged) == (0, 0, 4) and CountingEncoder.calls == 0

    res = col.upsert(
        texts=[DOCS["cat"], "Puppies are loyal."], ids=["cat", "dog"], metadata=[{"v": 2}, None]
    )
    assert (res.added, res.updated, res.unchanged) == (0, 2, 0)
    assert CountingEncoder.calls == 1  # only the changed text was embedded
    after = col.get("dog")
    assert (
        after.text == "Puppies are loyal."
        and after.created == before.created
        and after.updated > before.updated
    )
    assert col.get("cat").metadata == {"v": 2}
    assert len(col) == 4 and col.verify()
    assert col.search("puppies", k=1)[0].id == "dog"


def test_vectors_and_metrics(db: ls.Database) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 16)).astype(np.float32)
    for metric in ("cosine", "ip", "l2"):
        col = db.create_collection(f"raw-{metric}", dim=16, metric=metric)
        col.add(vectors=x, ids=[f"v{i}" for i in range(50)])
        q = x[7] * 3
        hits = col.search(q, k=5)
        if metric == "cosine":
            ref = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
        elif metric == "ip":
            ref = x @ q
        else:
            ref = -((x - q) ** 2).sum(1)
        assert [h.id for h in hits] == [f"v{i}" for i in np.argsort(-ref)[:5]]
        np.testing.assert_allclose(
            [h.score for h in hits], np.sort(ref)[::-1][:5], rtol=1e-4, atol=1e-4
        )
    stored = db.collection("raw-ip").get("v3", include_vectors=True).vector
    np.testing.assert_array_equal(stored, x[3])


@pytest.mark.parametrize("spec", ["Flat", "HNSW32", "IVF4,Flat", "IVF4,PQ4", "SQ8"])
def test_every_index_type_adds_deletes_and_reopens(index_path, database, spec) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    ids = [f"v{i}" for i in range(400)]
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.create_collection("raw", dim=8, index=spec)
        col.add(vectors=x[:300], ids=ids[:300])
        col.delete(ids[:50])
        col.add(vectors=x[300:], ids=ids[300:])
        assert col.verify() and col.index.ntotal == 350
        hit = col.search(x[120], k=1)[0]
        assert hit.id == "v120" or "PQ" in spec  # PQ is approximate
        assert all(h.id not in ids[:50] for h in col.search(x[10], k=20))
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.collection("raw")
        assert col.verify() and len(col) == 350
        col.flush()  # compacts HNSW tombstones by rebuilding from the store
        assert col.index.deleted == set() and col.index.ntotal == 350


def test_auto_index_rechooses_as_collection_grows(db: ls.Database, monkeypatch) -> None:
    from latentsearch.index import auto

    monkeypatch.setattr(auto, "EXACT_LIMIT", 100)
    col = db.create_collection("raw", dim=8)
    assert col.index.spec == "Flat"
    x = np.random.default_rng(2).normal(size=(3000, 8)).astype(np.float32)
    col.add(vectors=x, ids=[str(i) for i in range(3000)])
    col.flush()
    assert col.index.spec.startswith("IVF") and col.index.is_trained
    assert col.verify() and db.collections()[0].index == col.index.spec
