"""`latentsearch build` end to end on SQLite and PostgreSQL: every input type, chunks, incremental."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import LONG_PARAGRAPHS, run, run_json, write_corpus

import latentsearch as ls
from latentsearch.encoders import get_encoder
from latentsearch.errors import ItemNotFoundError


def _db_args(database: str | None) -> list[str]:
    return ["--database", database] if database else []


def _build(tmp_path: Path, database: str | None, *extra: str) -> dict:
    return run_json(
        "build",
        tmp_path / "docs",
        tmp_path / "records",
        "--index",
        tmp_path / "idx",
        *_db_args(database),
        *extra,
    )


def _open(tmp_path: Path, database: str | None) -> ls.Database:
    return ls.connect(tmp_path / "idx", database=database, device="cpu")


def test_build_indexes_every_supported_type(tmp_path: Path, database: str | None) -> None:
    write_corpus(tmp_path)
    s = _build(tmp_path, database)
    assert s["files"] == {
        "added": 8,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "failed": 0,
        "scanned": 8,
        "skipped": 0,
    }
    assert (s["added"], s["updated"], s["unchanged"], s["removed"], s["failed"]) == (12, 0, 0, 0, 0)
    assert s["failures"] == [] and s["items_encoded"] == s["items_written"] > 12

    with _open(tmp_path, database) as db:
        col = db.collection("default")
        vpn = col.get("runbooks/vpn.md")
        assert vpn.source.title == "VPN troubleshooting"
        assert vpn.source.uri == (tmp_path / "docs" / "runbooks" / "vpn.md").as_uri()
        assert vpn.metadata == {"path": "runbooks/vpn.md", "type": "md"} and vpn.acl == ["*"]
        assert col.get("runbooks/failover.rst").source.title == "Database failover"
        html = col.get("product/release.html")
        assert html.source.title == "Release 2.4"
        assert (
            "Scheduled exports" in html.text
            and "Copyright" not in html.text
            and "Home | Docs" not in html.text
        )
        pdf = col.get("product/handbook.pdf")
        assert "28 days of paid leave" in pdf.text and pdf.metadata["pages"] == 1

        t1 = col.get("T-1")
        assert t1.acl == ["group:it"] and t1.metadata == {"team": "it", "priority": 1}
        assert (t1.source.title, t1.source.uri) == ("VPN drops", "https://t.example/T-1")
        assert col.get("T-2").metadata == {"team": "support", "priority": 2, "region": "eu"}
        assert col.get("T-3").acl == ["*"]
        f1 = col.get("F-1")
        assert f1.acl == ["group:sales", "group:support"] and f1.metadata == {"category": "billing"}
        assert col.get("A-100").metadata == {"name": "Analytics Pro", "price": 49.5}


def test_long_documents_are_chunked_with_offsets(tmp_path: Path, database: str | None) -> None:
    write_corpus(tmp_path)
    _build(tmp_path, database, "--chunk-size", "100", "--chunk-overlap", "20")
    source = (tmp_path / "docs" / "runbooks" / "incidents.txt").read_text()
    tokenizer = get_encoder("text", device="cpu").model.tokenizer  # type: ignore[attr-defined]
    with _open(tmp_path, database) as db:
        col = db.collection("default")
        chunks = col.get([f"runbooks/incidents.txt#{i}" for i in range(100)])
        with pytest.raises(ItemNotFoundError):
            col.get("runbooks/incidents.txt")  # a chunked document is stored as its chunks only
    assert len(chunks) >= 5
    previous_end = 0
    for c in chunks:
        assert c.chunk is not None and c.chunk.parent == "runbooks/incidents.txt"
        assert c.text == source[c.chunk.start : c.chunk.end]
        assert len(tokenizer(c.text, add_special_tokens=False)["input_ids"]) <= 100
        assert c.chunk.start < previous_end or previous_end == 0  # consecutive chunks overlap
        assert c.source.title == "incidents.txt" and c.metadata["path"] == "runbooks/incidents.txt"
        previous_end = c.chunk.end
    assert previous_end == len(source.rstrip())
    # Chunks break between paragraphs where they can: most chunks end where a paragraph ends.
    ends = sum(source[c.chunk.end : c.chunk.end + 2] in ("\n\n", "") for c in chunks if c.chunk)
    assert ends >= len(chunks) - 1


def test_rebuild_is_incremental(tmp_path: Path, database: str | None) -> None:
    write_corpus(tmp_path)
    first = _build(tmp_path, database)
    again = _build(tmp_path, database)
    assert first["items_encoded"] == first["items_written"] > 0
    assert again["items_encoded"] == 0 and again["items_written"] == 0
    assert (again["added"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, 12, 0)
    assert again["files"]["unchanged"] == 8

    # One file edited, one record edited, one record removed: only those two texts are embedded.
    vpn = tmp_path / "docs" / "runbooks" / "vpn.md"
    vpn.write_text(vpn.read_text() + "\nIf nothing helps, open a ticket for the network team.\n")
    tickets = tmp_path / "records" / "tickets.jsonl"
    rows = [json.loads(line) for line in tickets.read_text().splitlines()]
    rows[1]["text"] = "The customer asks for a refund of the monthly plan."
    tickets.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    changed = _build(tmp_path, database)
    assert (changed["added"], changed["updated"], changed["unchanged"], changed["removed"]) == (
        0,
        2,
        9,
        1,
    )
    assert changed["items_encoded"] == 2
    assert changed["files"]["updated"] == 2 and changed["files"]["unchanged"] == 6

    # A file that is gone stays indexed until --prune.
    (tmp_path / "docs" / "runbooks" / "failover.rst").unlink()
    kept = _build(tmp_path, database)
    assert kept["gone"] == 1 and kept["removed"] == 0
    pruned = _build(tmp_path, database, "--prune")
    assert pruned["files"]["removed"] == 1 and pruned["removed"] == 1 and pruned["gone"] == 0
    with _open(tmp_path, database) as db:
        col = db.collection("default")
        assert "network team" in col.get("runbooks/vpn.md").text
        assert "monthly plan" in col.get("T-2").text
        for gone in ("T-3", "runbooks/failover.rst"):
            with pytest.raises(ItemNotFoundError):
                col.get(gone)
        assert col.verify()


def test_editing_one_paragraph_reembeds_only_its_chunks(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    _build(tmp_path, None, "--chunk-size", "60", "--chunk-overlap", "0")
    path = tmp_path / "docs" / "runbooks" / "incidents.txt"
    with _open(tmp_path, None) as db:
        n_chunks = len(
            db.collection("default").get([f"runbooks/incidents.txt#{i}" for i in range(200)])
        )
    text = path.read_text()
    path.write_text(
        text.replace(LONG_PARAGRAPHS[-1], LONG_PARAGRAPHS[-1].replace("every week", "every month"))
    )
    s = _build(tmp_path, None, "--chunk-size", "60", "--chunk-overlap", "0")
    assert s["updated"] == 1 and s["unchanged"] == 11
    assert 1 <= s["items_encoded"] <= 3 < n_chunks  # the paragraph changed in three places at most


def test_chunk_settings_change_rechunks(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    _build(tmp_path, None)
    s = _build(tmp_path, None, "--chunk-size", "40")
    assert s["files"]["unchanged"] == 8 and s["updated"] == 12  # every file read again, same bytes
    with _open(tmp_path, None) as db:
        assert (
            len(db.collection("default").get([f"runbooks/incidents.txt#{i}" for i in range(200)]))
            > 10
        )


def test_include_exclude_and_acl(tmp_path: Path, database: str | None) -> None:
    write_corpus(tmp_path)
    s = run_json(
        "build",
        tmp_path / "docs",
        tmp_path / "records",
        "--index",
        tmp_path / "idx",
        *_db_args(database),
        "--include",
        "*.md",
        "--include",
        "*.jsonl",
        "--exclude",
        "product",
        "--acl",
        "group:eng",
        "--acl",
        "user:bob",
    )
    assert s["files"]["scanned"] == 2 and s["added"] == 4
    with _open(tmp_path, database) as db:
        col = db.collection("default")
        assert col.get("runbooks/vpn.md").acl == ["group:eng", "user:bob"]
        assert col.get("T-3").acl == ["group:eng", "user:bob"]  # a record without its own ACL
        assert col.get("T-1").acl == ["group:it"]  # a record's own ACL wins
        assert len(col) == 4


def test_record_field_mapping_and_globs(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "issues.csv").write_text(
        "key,summary,body,status\nBUG-1,Login fails,The login page loops after SSO.,open\nBUG-2,Slow charts,,closed\n"
    )
    (exports / "notes.txt").write_text("not matched by the glob")
    s = run_json(
        "build",
        f"{exports}/*.csv",
        "--index",
        tmp_path / "idx",
        "--id-field",
        "key",
        "--text-field",
        "summary",
        "--text-field",
        "body",
    )
    assert s["files"]["scanned"] == 1 and s["added"] == 2
    with ls.connect(tmp_path / "idx") as db:
        col = db.collection("default")
        assert col.get("BUG-1").text == "Login fails\n\nThe login page loops after SSO."
        assert col.get("BUG-1").metadata == {"status": "open"}
        assert col.get("BUG-2").text == "Slow charts"


def test_human_output_has_a_summary_table(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    result = run(
        "build", tmp_path / "docs", "--index", tmp_path / "idx", "--collection", "handbook"
    )
    assert result.exit_code == 0, result.output
    for word in (
        "added",
        "updated",
        "unchanged",
        "removed",
        "failed",
        "documents",
        "files",
        "items encoded",
    ):
        assert word in result.stdout
    assert "build of collection 'handbook'" in result.stdout


def test_progress_bar_shows_files_items_rate_and_eta(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from latentsearch.cli.build_report import RichReporter
    from latentsearch.ingest.build import build
    from latentsearch.ingest.options import BuildOptions

    write_corpus(tmp_path)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system=None)
    with ls.connect(tmp_path / "idx", device="cpu") as db:
        col = db.create_collection("default", encoder="text")
        with RichReporter(console) as reporter:
            reporter.progress.refresh()
            summary = build(db, col, BuildOptions(sources=[str(tmp_path / "docs")]), reporter)
            reporter.progress.refresh()
            final = reporter.progress.tasks[0]
    drawn = screen.getvalue()
    for text in ("scanning", "indexing", "5/5 files", "items encoded", "items/s", "ETA"):
        assert text in drawn, text
    assert final.fields["items"] == summary.items_encoded > 0 and final.completed == final.total
