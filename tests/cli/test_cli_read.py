"""search, query, analogy, info and delete end to end over the sample corpus, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import ROOT, run, run_json

import latentsearch as ls
from latentsearch.errors import ItemNotFoundError

SAMPLES = ROOT / "samples"
TICKET_ACL = {
    "TICKET-108": {"user:alice", "group:finance"},
    "TICKET-110": {"*"},
}


@pytest.fixture
def idx(tmp_path: Path, database: str | None) -> list[str]:
    """The sample docs and tickets, built with small chunks; returns the common CLI arguments."""
    args = ["--index", str(tmp_path / "idx"), *(["--database", database] if database else [])]
    s = run_json(
        "build",
        SAMPLES / "docs",
        SAMPLES / "tickets.jsonl",
        *args,
        "--chunk-size",
        "48",
        "--chunk-overlap",
        "8",
    )
    assert s["failed"] == 0 and s["added"] == 17
    return args


def test_search_per_document_and_chunks(idx: list[str]) -> None:
    hits = run_json("search", "the VPN keeps disconnecting on my laptop", *idx, "-k", "5")
    assert len(hits) == 5
    assert hits[0]["document"] in {"runbooks/vpn-troubleshooting.md", "TICKET-101"}
    assert len({h["document"] for h in hits}) == 5  # one hit per document by default
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert hits == sorted(hits, key=lambda h: -h["score"])
    chunks = run_json(
        "search", "the VPN keeps disconnecting on my laptop", *idx, "-k", "8", "--chunks"
    )
    docs = [h["document"] for h in chunks]
    assert len(docs) > len(set(docs))  # several passages of the VPN runbook
    vpn = [h for h in chunks if h["document"] == "runbooks/vpn-troubleshooting.md"]
    source = (SAMPLES / "docs" / "runbooks" / "vpn-troubleshooting.md").read_text()
    for h in vpn:
        assert h["text"] == source[h["chunk"]["start"] : h["chunk"]["end"]]
        assert h["source"]["title"] == "VPN troubleshooting"


def test_search_filters_and_principals(idx: list[str]) -> None:
    hits = run_json("search", "production problem", *idx, "-k", "20", "--where", '{"team": "eng"}')
    assert hits and {h["metadata"]["team"] for h in hits} == {"eng"}
    assert {h["id"] for h in hits} == {"TICKET-104", "TICKET-105", "TICKET-107", "TICKET-109"}
    seen = run_json("search", "expense claim rejected", *idx, "-k", "30", "-p", "group:finance")
    tickets = {h["id"] for h in seen if h["id"].startswith("TICKET-")}
    assert tickets == set(TICKET_ACL)  # nothing else is visible to group:finance
    assert any(h["document"].startswith("policies/") for h in seen)
    both = run_json(
        "search", "refund", *idx, "-k", "30", "-p", "group:support", "--where", '{"status": "open"}'
    )
    assert {h["id"] for h in both} == {
        "TICKET-101",
        "TICKET-103",
        "TICKET-104",
        "TICKET-106",
        "TICKET-107",
    }


def test_search_modes(idx: list[str]) -> None:
    words = run_json("search", "DiskSpaceCritical", *idx, "-k", "3", "--mode", "keyword")
    assert {h["document"] for h in words} == {"TICKET-105", "runbooks/disk-full.md"}
    fused = run_json(
        "search", "DiskSpaceCritical alert", *idx, "-k", "3", "--mode", "hybrid", "-p", "group:eng"
    )
    assert fused[0]["document"] in {"TICKET-105", "runbooks/disk-full.md"}
    bad = run("search", "x", *idx, "--mode", "fuzzy")
    assert bad.exit_code == 2 and "--mode must be dense, keyword or hybrid" in bad.stderr


def test_search_by_item_and_human_table(idx: list[str]) -> None:
    hits = run_json("search", "@TICKET-105", *idx, "-k", "3")
    assert hits[0]["id"] == "TICKET-105" and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    table = run("search", "disk full on a server", *idx, "-k", "3")
    assert table.exit_code == 0
    assert (
        " 1. " in table.stdout
        and "runbooks/disk-full.md - Disk full on application servers" in table.stdout
    )


def test_query_expressions(idx: list[str]) -> None:
    hits = run_json("query", '"vpn disconnects" - "windows laptop"', *idx, "-k", "4")
    assert len(hits) == 4 and all(set(h["why"]) for h in hits)
    weighted = run_json(
        "query", '0.5 * "refund" + @TICKET-106', *idx, "-k", "3", "-p", "group:support"
    )
    assert weighted and "TICKET-106" not in {h["id"] for h in weighted}  # inputs are excluded
    kept = run_json(
        "query",
        '0.5 * "refund" + @TICKET-106',
        *idx,
        "-k",
        "3",
        "-p",
        "group:support",
        "--include-inputs",
    )
    assert kept[0]["id"] == "TICKET-106"
    bad = run("query", '"unclosed', *idx)
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    hidden = run("query", '@TICKET-105 + "disk"', *idx, "-p", "group:support")
    assert hidden.exit_code == 3  # an item the caller may not see is "not found"


def test_analogy(idx: list[str]) -> None:
    hits = run_json(
        "analogy", "-P", "@TICKET-105", "-P", "refund", "-N", "disk full", *idx, "-k", "5"
    )
    assert hits and "TICKET-105" not in {h["id"] for h in hits}
    cosmul = run_json(
        "analogy",
        "-P",
        "@TICKET-105",
        "-N",
        "disk",
        "--method",
        "3cosmul",
        "--include-inputs",
        *idx,
        "-k",
        "30",
    )
    assert "TICKET-105" in {h["id"] for h in cosmul}
    weighted = run_json(
        "analogy", "-P", "refund", "-P", "vpn", "--weight", "1", "--weight", "0", *idx, "-k", "3"
    )
    plain = run_json("search", "refund", *idx, "-k", "3", "--chunks")
    assert [h["id"] for h in weighted] == [h["id"] for h in plain]


def test_info(idx: list[str]) -> None:
    info = run_json("info", *idx)
    (col,) = info["collections"]
    assert (
        col["name"] == "default"
        and col["dim"] == 384
        and col["metric"] == "cosine"
        and col["index"] == "Flat"
    )
    assert col["encoder"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert col["count"] > 17 and col["files"]["done"] == 8 and col["index_file_bytes"] > 0
    assert col["last_build"]["status"] == "done" and col["last_build"]["added"] == 17
    assert info["device"]["encoder"] in ("cpu", "cuda") and info["size_bytes"] > 0
    human = run("info", *idx)
    assert (
        human.exit_code == 0 and "all-MiniLM-L6-v2" in human.stdout and "last build" in human.stdout
    )


def test_delete_by_id_and_where_then_rebuild_restores(
    idx: list[str], tmp_path: Path, database: str | None
) -> None:
    before = run_json("info", *idx)["collections"][0]["count"]
    gone = run_json("delete", "--id", "runbooks/vpn-troubleshooting.md", *idx)
    assert gone["deleted"] > 1 and gone["documents_forgotten"] == 1  # the document's chunks
    closed = run_json("delete", "--where", '{"status": "closed"}', *idx)
    assert closed["deleted"] == 4 and closed["documents_forgotten"] == 4
    with ls.connect(tmp_path / "idx", database=database) as db:
        col = db.collection("default")
        with pytest.raises(ItemNotFoundError):
            col.get("TICKET-102")
        assert len(col) == before - gone["deleted"] - 4
    # The files still hold them: the next build reads those files again and restores them.
    s = run_json(
        "build",
        SAMPLES / "docs",
        SAMPLES / "tickets.jsonl",
        *idx,
        "--chunk-size",
        "48",
        "--chunk-overlap",
        "8",
    )
    assert s["added"] == 5 and s["unchanged"] == 12
    assert run_json("info", *idx)["collections"][0]["count"] == before


def test_answer_cites_its_sources_and_keeps_permissions(idx: list[str]) -> None:
    card = run_json("answer", "expense claim rejected", *idx, "-k", "6", "-p", "group:finance")
    docs = {d["id"] for d in card["documents"]}
    assert "TICKET-108" in docs  # finance's own ticket
    numbers = [p["number"] for d in card["documents"] for p in d["passages"]]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert card["sentences"] and {s["passage"] for s in card["sentences"]} <= set(numbers)
    for d in card["documents"]:
        for p in d["passages"]:
            assert p["citation"]["doc_id"] == d["id"]
    other = run_json("answer", "expense claim rejected", *idx, "-k", "6", "-p", "group:eng")
    assert "TICKET-108" not in {d["id"] for d in other["documents"]}
    text = run("answer", "expense claim rejected", *idx, "-k", "3", "-p", "group:finance")
    assert text.exit_code == 0 and "Sources" in text.stdout and "[1]" in text.stdout
    bad = run("answer", "x", *idx, "--mode", "fuzzy")
    assert bad.exit_code == 2 and "--mode" in bad.stderr
