"""`latentsearch sync` and `latentsearch sources status` end to end (in-process CLI)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from corpus import run
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def _setup(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vpn.md").write_text("# VPN\n\nRestart the VPN client when the tunnel drops.\n")
    (docs / "printer.md").write_text("# Printer\n\nThe printer on floor 3 needs A4 paper.\n")
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, blurb TEXT, team TEXT, changed TEXT)"
            )
        )
        conn.execute(
            text("INSERT INTO products VALUES (:s, :n, :b, :t, :c)"),
            [
                {
                    "s": "A1",
                    "n": "Anvil",
                    "b": "A heavy anvil for VPN hardware racks.",
                    "t": "group:sales",
                    "c": "2026-01-01",
                },
                {"s": "B2", "n": "Bucket", "b": "A bucket.", "t": "group:sales", "c": "2026-01-02"},
                {"s": "C3", "n": None, "b": None, "t": "*", "c": "2026-01-03"},
            ],
        )
    engine.dispose()
    conf = tmp_path / "sources.toml"
    conf.write_text(
        f"""
[[source]]
name = "handbook"
type = "files"
collection = "company"
schedule = "1h"
[source.settings]
paths = ["{docs}"]

[[source]]
name = "products"
type = "sql"
collection = "company"
schedule = "*/5 * * * *"
[source.settings]
url = "sqlite:///{tmp_path / "crm.db"}"
table = "products"
id = "sku"
text = ["name", "blurb"]
title = "name"
uri = "https://shop.example.com/p/{{sku}}"
acl = "team"
updated_at = "changed"
"""
    )
    return conf


def test_sync_then_status(tmp_path: Path) -> None:
    conf = _setup(tmp_path)
    idx = str(tmp_path / "idx")
    res = run("sync", conf, "--index", idx, "--json")
    assert res.exit_code == 0, res.output
    by_name = {r["source"]: r for r in json.loads(res.stdout)}
    assert by_name["handbook"]["added"] == 2
    assert (by_name["products"]["added"], by_name["products"]["failed"]) == (2, 1)
    assert by_name["products"]["errors"][0]["id"] == "C3"

    res = run("sync", conf, "--index", idx)  # nothing is due yet
    assert res.exit_code == 0 and "Nothing is due" in res.stdout

    res = run("sync", conf, "--index", idx, "--source", "products", "--strict")
    assert res.exit_code == 1 and "products" in res.stderr  # C3 still fails

    res = run("sources", "status", conf, "--index", idx, "--json")
    assert res.exit_code == 0, res.output
    status = {r["name"]: r for r in json.loads(res.stdout)}
    assert status["handbook"]["records"] == 2 and status["handbook"]["status"] == "done"
    assert status["products"]["records"] == 2
    assert status["products"]["cursor"] is not None
    assert status["products"]["errors"] == [
        {"id": "C3", "reason": "no text: name, blurb must hold text"}
    ]
    assert status["handbook"]["next_run"] != "now"

    res = run("sources", "status", conf, "--index", idx)
    assert res.exit_code == 0 and "handbook" in res.stdout and "C3" in res.stdout

    res = run("search", "vpn tunnel", "--index", idx, "--collection", "company", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["id"] == "handbook:vpn.md"


def test_config_errors_are_usage_errors(tmp_path: Path) -> None:
    conf = tmp_path / "sources.toml"
    conf.write_text(
        '[[source]]\nname = "x"\ntype = "sql"\n[source.settings]\npassword = "hunter2"\n'
    )
    res = run("sync", conf, "--index", str(tmp_path / "idx"))
    assert res.exit_code == 2 and "literal credential" in res.stderr
    res = run("sync", tmp_path / "missing.toml", "--index", str(tmp_path / "idx"))
    assert res.exit_code == 2 and "no sources file" in res.stderr


def test_watch_runs_until_interrupted(tmp_path: Path) -> None:
    """`sync --watch` in a real process: it syncs, picks up a new file on the next due run, and
    Ctrl-C (SIGINT) stops it with exit code 130."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nThe first page.\n")
    conf = tmp_path / "sources.toml"
    conf.write_text(
        f'[[source]]\nname = "d"\ntype = "files"\nschedule = "1s"\n'
        f'[source.settings]\npaths = ["{docs}"]\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "latentsearch",
            "sync",
            str(conf),
            "--index",
            str(tmp_path / "idx"),
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # As in a terminal: Ctrl-C interrupts. A child inherits an ignored SIGINT (a test run
        # started in the background has one), and Python then installs no KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def wait_for(text: str, times: int = 1) -> None:
        deadline = time.monotonic() + 120
        while " ".join("".join(lines).split()).count(text) < times:  # rich may wrap lines
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, lines
            time.sleep(0.05)

    try:
        wait_for("1 added")
        (docs / "b.md").write_text("# B\n\nA page added while watching.\n")
        wait_for("d done: 1 added", times=2)  # a later run found b.md
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    reader.join(5)
    assert proc.returncode == 130


def test_a_source_moved_to_another_collection_fails_alone(tmp_path: Path) -> None:
    conf = _setup(tmp_path)
    idx = str(tmp_path / "idx")
    assert run("sync", conf, "--index", idx, "--json").exit_code == 0
    conf.write_text(conf.read_text().replace('collection = "company"', 'collection = "other"', 1))
    res = run("sync", conf, "--index", idx, "--force", "--json")
    assert res.exit_code == 1
    by_name = {r["source"]: r for r in json.loads(res.stdout)}
    assert by_name["handbook"]["status"] == "failed"
    assert "give the source a new name" in by_name["handbook"]["errors"][0]["reason"]
    assert by_name["products"]["status"] == "done"
