"""Keyword retrieval in the store (FTS5 on SQLite, tsvector + GIN on PostgreSQL), hybrid fusion, citations."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect

import latentsearch as ls
from latentsearch.errors import InvalidInputError, PermissionDeniedError
from latentsearch.query import hybrid
from latentsearch.query.citations import cite
from latentsearch.results import Hit, Source
from latentsearch.store import items as sql
from latentsearch.store.keyword import keyword_search

DOCS = [
    {
        "id": "vpn",
        "text": "The VPN outage hit every Windows laptop after the gateway update.",
        "title": "VPN outage postmortem",
        "metadata": {"team": "it", "year": 2024},
    },
    {
        "id": "payroll",
        "text": "Running the payroll export takes an hour on the finance server.",
        "metadata": {"team": "hr", "year": 2023},
    },
    {
        "id": "vpn-mac",
        "text": "Installing the VPN client on macOS laptops.",
        "metadata": {"team": "it", "year": 2023},
        "acl": ["group:eng"],
    },
    {
        "id": "gateway",
        "text": "Gateway firmware release notes.",
        "title": "VPN gateway",
        "metadata": {"team": "net", "year": 2024},
    },
]


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    c = db.create_collection("docs", encoder="text")
    c.add(DOCS)
    return c


def kw(col: ls.Collection, text: str, k: int = 10, **kwargs) -> list[str]:
    return [h.id for h in col.search(text, k, mode="keyword", **kwargs)]


def test_keyword_index_follows_every_write(col: ls.Collection) -> None:
    assert set(kw(col, "vpn")) == {"vpn", "vpn-mac", "gateway"}
    assert kw(col, "laptops outage")[0] == "vpn"  # porter stems: "laptops" matches "laptop"
    col.upsert(
        [
            {
                "id": "payroll",
                "text": "Running the payroll export takes an hour on the finance server.",
                "title": "VPN-free payroll",
                "metadata": {"team": "hr"},
            }
        ]
    )
    assert "payroll" in kw(
        col, "vpn"
    )  # a changed title (content unchanged, not re-embedded) is re-indexed
    col.upsert([{"id": "vpn", "text": "Printer queue stuck on floor three."}])
    assert "vpn" not in kw(col, "outage") and kw(col, "printer") == ["vpn"]
    col.delete(["gateway"])
    assert "gateway" not in kw(col, "gateway firmware")
    col.delete(where={"team": "hr"})
    assert kw(col, "payroll") == []


def test_a_rolled_back_write_leaves_the_keyword_index_unchanged(
    db: ls.Database, col: ls.Collection
) -> None:
    row = {
        "collection_id": col.id,
        "external_id": "ghost",
        "kind": "text",
        "text": "zebra crossing",
        "meta": {},
        "content_hash": "x" * 64,
        "seq": 99,
    }
    with pytest.raises(RuntimeError), db.store.transaction() as s:
        sql.insert_items(s, [row], np.ones((1, col.dim), dtype=np.float32), [["*"]])
        assert [
            m.item_id for m in keyword_search(s, col.id, ["zebra"], 5)
        ]  # visible inside the transaction
        raise RuntimeError("abort")
    assert kw(col, "zebra") == []


def test_filters_and_acl_apply_to_keyword_search(col: ls.Collection) -> None:
    assert set(kw(col, "vpn", where={"year": 2024})) == {"vpn", "gateway"}
    assert kw(col, "vpn", where={"team": {"$in": ["it"]}}, principals=["group:sales"]) == ["vpn"]
    assert set(kw(col, "vpn", principals=["group:eng"])) == {"vpn", "vpn-mac", "gateway"}
    assert set(kw(col, "vpn", principals=[])) == {"vpn", "gateway"}


def test_keyword_ranking_prefers_more_and_rarer_matches(col: ls.Collection) -> None:
    assert kw(col, "vpn outage windows")[0] == "vpn"
    assert kw(col, "gateway firmware")[0] == "gateway"
    hits = col.search("vpn outage", 10, mode="keyword")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert kw(col, "the of and") == []  # only stop words: nothing to match


def test_strict_collections_and_bad_input(db: ls.Database) -> None:
    strict = db.create_collection("strict", encoder="text", require_principals=True)
    strict.add([{"id": "a", "text": "vpn", "acl": ["group:eng"]}])
    with pytest.raises(PermissionDeniedError):
        strict.search("vpn", mode="keyword")
    with pytest.raises(PermissionDeniedError):
        strict.search("vpn", mode="hybrid")
    assert kw(strict, "vpn", principals=["group:eng"]) == ["a"]
    with pytest.raises(InvalidInputError, match="mode"):
        strict.search("vpn", mode="sparse", principals=[])
    with pytest.raises(InvalidInputError, match="text query"):
        strict.search([0.1] * strict.dim, mode="keyword", principals=[])
    with pytest.raises(InvalidInputError, match="empty"):
        strict.search("  ", principals=[], mode="keyword")
    with pytest.raises(InvalidInputError, match="rrf_k"):
        hybrid.Fusion(rrf_k=0)


def test_hybrid_fuses_both_rankings(col: ls.Collection) -> None:
    dense = col.search("problems connecting to the corporate network", 4)
    words = col.search("problems connecting to the corporate network", 4, mode="keyword")
    fused = col.search("problems connecting to the corporate network", 4, mode="hybrid")
    assert {h.id for h in fused} == {h.id for h in dense} | {h.id for h in words}
    for h in fused:
        ranks = [
            next((i + 1 for i, d in enumerate(r) if d.id == h.id), None) for r in (dense, words)
        ]
        assert h.score == pytest.approx(sum(1 / (60 + r) for r in ranks if r))
        assert h.why is not None and set(h.why) <= {"dense", "keyword"}
    weighted = col.search(
        "vpn outage",
        4,
        mode="hybrid",
        fusion=hybrid.Fusion(method="weighted", dense_weight=0.0),
    )
    assert weighted[0].id == kw(col, "vpn outage")[0]


def test_rrf_and_per_document() -> None:
    def hit(i: str, parent: str | None = None) -> Hit:
        from latentsearch.results import Chunk

        return Hit(
            id=i,
            score=0.0,
            kind="text",
            text="",
            metadata={},
            source=Source(),
            chunk=Chunk(parent, 0, 1) if parent else None,
        )

    fused = hybrid.rrf([[hit("a"), hit("b")], [hit("b"), hit("c")]], rrf_k=1)
    assert [h.id for h in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 3 + 1 / 2)
    assert [
        h.id for h in hybrid.best_per_document([hit("d#1", "d"), hit("d#2", "d"), hit("e")])
    ] == ["d#1", "e"]


def test_per_document_keyword_search_fills_k(db: ls.Database) -> None:
    c = db.create_collection("chunks", encoder="text")
    c.add(
        [
            {
                "id": f"doc{d}#{i}",
                "text": f"vpn notes part {i} of document {d}",
                "chunk": {"parent": f"doc{d}", "start": i * 40, "end": i * 40 + 30},
            }
            for d in range(4)
            for i in range(6)
        ]
    )
    hits = c.search("vpn notes", 3, per_document=True, mode="keyword")
    assert len(hits) == 3 and len({h.chunk.parent for h in hits if h.chunk}) == 3


def test_citation_offsets_and_highlights() -> None:
    from latentsearch.results import Chunk

    doc = (
        "Intro. " * 30
        + "The VPN outages started when running the new gateway build. "
        + "Filler text. " * 40
    )
    start = 500
    text = doc[start - 300 :]
    h = Hit(
        id="d#2",
        score=1.0,
        kind="text",
        text=text,
        metadata={},
        source=Source(uri="u", title="T"),
        chunk=Chunk("d", start - 300, start - 300 + len(text)),
    )
    c = cite(h, "vpn outage, gateway runs")
    assert (c.doc_id, c.item_id, c.title, c.uri) == ("d", "d#2", "T", "u")
    assert doc[c.start : c.end] == c.snippet and len(c.snippet) <= 240
    marked = [c.snippet[s.start : s.end] for s in c.highlights]
    assert marked == ["VPN", "outages", "running", "gateway"]
    assert cite(h, None).highlights == []


def test_keyword_tables_exist_for_the_dialect(db: ls.Database) -> None:
    tables = set(inspect(db.store.engine).get_table_names())
    assert (
        ("ls_keyword_fts" in tables) if db.store.dialect == "sqlite" else ("ls_keyword" in tables)
    )


def test_facets_count_visible_metadata_values(db: ls.Database, col: ls.Collection) -> None:
    from latentsearch.query import facets as stats

    col.add(
        [
            {
                "id": "flag",
                "text": "flags",
                "metadata": {"team": "it", "year": 1, "tags": ["a", "b"], "ok": True},
            }
        ]
    )
    with db.store.session() as s:
        everyone = stats.facets(s, col.id, principals=[])
        eng = stats.facets(s, col.id, principals=["group:eng"])
        only = stats.facets(s, col.id, fields=["tags"], principals=[])
    assert everyone.scanned == 4 and eng.scanned == 5
    assert {(v.value, v.count) for v in everyone.fields["team"]} == {
        ("it", 2),
        ("hr", 1),
        ("net", 1),
    }
    assert {(v.value, v.count) for v in eng.fields["team"]} == {("it", 3), ("hr", 1), ("net", 1)}
    assert {(v.value, v.count) for v in everyone.fields["tags"]} == {("a", 1), ("b", 1)}
    assert [v.value for v in everyone.fields["ok"]] == [True] and 1 in [
        v.value for v in everyone.fields["year"]
    ]
    assert set(only.fields) == {"tags"}
