"""Bad input files are skipped with their reason; everything else is indexed; exit codes follow."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from corpus import run, run_json, subprocess_cli

import latentsearch as ls


def _bad_tree(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nThe quarterly report is due on Friday.\n")
    (docs / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00binary")
    (docs / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me: menu du jour".encode("latin-1"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    (docs / "empty.md").write_bytes(b"")
    (docs / "blank.txt").write_text("   \n\n  ")
    (docs / "big.txt").write_text("large " * 400)
    (docs / "program.exe").write_bytes(b"MZ\x90\x00")
    (docs / "loop").symlink_to(docs, target_is_directory=True)
    (docs / "self.md").symlink_to(docs / "self.md")
    (docs / "dangling.md").symlink_to(docs / "missing.md")
    (docs / "records.jsonl").write_text(
        '{"id": "R-1", "text": "A valid record about invoices."}\n'
        "{not json\n"
        '{"id": "R-2", "body": "no text field"}\n'
        '{"id": "R-1", "text": "the same id again"}\n'
        '{"id": "R-3", "text": ""}\n'
        '{"id": "R-4", "text": "bad acl", "acl": "  "}\n'
        '["not", "an", "object"]\n'
        '{"id": "R-5", "text": "Another valid record about refunds."}\n'
    )
    (docs / "array.json").write_text('{"id": "not-an-array", "text": "x"}')
    return docs


def test_unreadable_files_are_skipped_with_reasons(tmp_path: Path, database: str | None) -> None:
    docs = _bad_tree(tmp_path)
    args = ["build", docs, "--index", tmp_path / "idx", "--max-file-size", "1KB"]
    if database:
        args += ["--database", database]
    s = run_json(*args)
    reasons = {(Path(p["path"]).name, p["where"]): p["reason"] for p in s["failures"]}
    expected = {
        ("binary.txt", ""): "binary file",
        ("latin1.txt", ""): "undecodable text: not valid UTF-8",
        ("broken.pdf", ""): "corrupt PDF",
        ("empty.md", ""): "empty file (0 bytes)",
        ("blank.txt", ""): "empty: no text",
        ("big.txt", ""): "over the size limit (2,400 > 1,024 bytes",
        ("loop", ""): "symlink loop",
        ("self.md", ""): "symlink loop",
        ("dangling.md", ""): "broken symlink",
        ("array.json", ""): "not a JSON array",
        ("records.jsonl", "line 2"): "invalid JSON",
        ("records.jsonl", "line 3"): "no 'text' field",
        ("records.jsonl", "line 4"): "duplicate id 'R-1'",
        ("records.jsonl", "line 5"): "empty: the text field is empty",
        ("records.jsonl", "line 6"): "acl must be a non-empty list of principals",
        ("records.jsonl", "line 7"): "a record must be an object",
    }
    for key, start in expected.items():
        assert key in reasons, (key, reasons)
        assert reasons[key].startswith(start), (key, reasons[key])
    assert len(reasons) == len(expected)
    assert (
        s["files"]["skipped"] == 1 and s["skipped"][0]["reason"] == "unsupported file type '.exe'"
    )
    assert s["failed"] == len(expected) and s["added"] == 3
    with ls.connect(tmp_path / "idx", database=database) as db:
        col = db.collection("default")
        assert sorted(i.id for i in col.get(["good.md", "R-1", "R-5"])) == ["R-1", "R-5", "good.md"]
        assert (
            col.get("R-1").text == "A valid record about invoices."
        )  # the first of two equal ids wins
        assert len(col) == 3


def test_strict_and_nothing_indexed_exit_1(tmp_path: Path) -> None:
    docs = _bad_tree(tmp_path)
    ok = run("build", docs, "--index", tmp_path / "idx")
    assert ok.exit_code == 0, ok.output
    assert "Not indexed" in ok.stdout and "binary file" in ok.stdout
    strict = run("build", docs, "--index", tmp_path / "idx", "--strict")
    assert strict.exit_code == 1
    assert "failed (--strict)" in strict.stderr and "Traceback" not in strict.output

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(docs / "binary.txt", only_bad)
    nothing = run("build", only_bad, "--index", tmp_path / "idx2")
    assert nothing.exit_code == 1
    assert "nothing could be indexed" in nothing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("build", empty, "--index", tmp_path / "idx3").exit_code == 1


def test_a_file_that_fails_keeps_its_earlier_items_and_is_retried(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The office is closed on public holidays.")
    run_json("build", docs, "--index", tmp_path / "idx")
    (docs / "a.txt").write_bytes(b"\xff\xfe\x00\x00broken")
    result = run("build", docs, "--index", tmp_path / "idx", "--json")
    assert result.exit_code == 1  # its only file failed: nothing could be indexed
    s = json.loads(result.stdout)
    assert s["files"]["failed"] == 1 and s["removed"] == 0
    with ls.connect(tmp_path / "idx") as db:
        assert "public holidays" in db.collection("default").get("a.txt").text
    (docs / "a.txt").write_text("The office is open on public holidays.")
    s = run_json("build", docs, "--index", tmp_path / "idx")
    assert s["files"]["updated"] == 1 and s["updated"] == 1 and s["failed"] == 0


def test_permission_denied_is_reported(tmp_path: Path) -> None:
    assert os.geteuid() != 0 or shutil.which("setpriv"), (
        "running as root needs setpriv (util-linux) to drop the capabilities that bypass permissions"
    )
    docs = tmp_path / "docs"
    (docs / "private").mkdir(parents=True)
    (docs / "ok.txt").write_text("Lunch is served at noon in the main hall.")
    (docs / "secret.txt").write_text("salaries")
    (docs / "private" / "plans.md").write_text("# Plans")
    (docs / "secret.txt").chmod(0)
    (docs / "private").chmod(0)
    # Root reads everything; drop the capabilities that let it, so permissions apply as for a user.
    prefix = []
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    import subprocess
    import sys

    from corpus import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    try:
        proc = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "latentsearch",
                "build",
                str(docs),
                "--index",
                str(tmp_path / "idx"),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=ROOT,
        )
    finally:
        (docs / "secret.txt").chmod(0o644)
        (docs / "private").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    reasons = {Path(p["path"]).name: p["reason"] for p in s["failures"]}
    assert reasons == {"secret.txt": "permission denied", "private": "permission denied"}
    assert s["added"] == 1


def test_python_dash_m_reports_failures_the_same_way(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text("Parking passes are renewed every January.")
    (docs / "bad.txt").write_bytes(b"\x00\x01\x02")
    proc = subprocess_cli("build", docs, "--index", tmp_path / "idx", "--strict")
    assert proc.returncode == 1
    assert "binary file" in proc.stdout and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: 1 file(s) or record(s) failed")
