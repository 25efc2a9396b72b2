"""`latentsearch sync` and `latentsearch sources status` end to end (in-process CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from corpus import run
from sqlalchemy import create_engine, text


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
