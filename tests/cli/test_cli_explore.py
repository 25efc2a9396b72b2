"""map, clusters, sample and axis end to end over the sample corpus, on SQLite and PostgreSQL.

The HTML map is also opened in headless Chromium with every network request refused: it draws
all its points from the file alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from corpus import ROOT, run, run_json

import latentsearch as ls

SAMPLES = ROOT / "samples"
CHROMIUM = os.environ.get("LATENTSEARCH_CHROMIUM", "/usr/bin/chromium")
FINANCE = "group:finance"


@pytest.fixture
def idx(tmp_path: Path, database: str | None) -> list[str]:
    args = ["--index", str(tmp_path / "idx"), *(["--database", database] if database else [])]
    s = run_json("build", SAMPLES / "docs", SAMPLES / "tickets.jsonl", *args)
    assert s["failed"] == 0
    return args


def visible(idx: list[str], principals: list[str] | None) -> set[str]:
    index = Path(idx[1])
    database = idx[3] if len(idx) > 2 else None
    with ls.connect(index, database=database) as db:
        col = db.collection("default")
        return {p.id for p in col.map(principals=principals, method="pca", clusters=False).points}


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))


def test_map_writes_a_self_contained_html_page(idx: list[str], tmp_path: Path) -> None:
    out = tmp_path / "maps" / "map.html"
    s = run_json(
        "map",
        *idx,
        "--out",
        out,
        "--query",
        "vpn disconnects",
        "--color-by",
        "team",
        "--method",
        "pca",
    )
    everyone = visible(idx, None)
    assert s["points"] == len(everyone) and s["hits"] == 10 and s["clusters"] >= 1
    html = out.read_text()
    assert "<script src" not in html and "<link" not in html and "class LatentMap" in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # nothing fetched at view time
    data = page_data(html)
    assert {p["id"] for p in data["points"]} == everyone
    assert data["color_by"] == "team" and data["query"]["label"] == "vpn disconnects"
    assert data["rings"] and set(data["rings"]) <= everyone
    assert sum(c["size"] for c in data["clusters"]) == len(everyone)

    # as one principal: only its visible items, nothing of the others
    mine = visible(idx, [FINANCE])
    s = run_json("map", *idx, "-p", FINANCE, "--out", out, "--method", "pca")
    data = page_data(out.read_text())
    assert {p["id"] for p in data["points"]} == mine and s["points"] == len(mine) < len(everyone)

    # an expression draws the path of its terms
    run_json("map", *idx, "--out", out, "--expr", '"vpn" - "windows"', "--method", "pca")
    data = page_data(out.read_text())
    assert len(data["path"]) == 2 and data["query"]["label"].startswith("= ")

    # one point per document: a chunk hit rings its document
    docs = tmp_path / "maps" / "documents.html"
    run_json("map", *idx, "--out", docs, "--level", "document", "--query", "vpn", "--method", "pca")
    data = page_data(docs.read_text())
    assert "runbooks/vpn-troubleshooting.md" in {p["id"] for p in data["points"]}
    assert "runbooks/vpn-troubleshooting.md" in data["rings"]

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `apt-get install -y chromium`")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        requests: list[str] = []
        page.route(
            "**/*",
            lambda route: (
                requests.append(route.request.url),
                route.continue_() if route.request.url.startswith("file:") else route.abort(),
            ),
        )
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        drawn = f"window.latentMap && window.latentMap.drawn === {len(everyone)}"
        with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what was drawn
            page.wait_for_function(drawn, timeout=30_000)
        assert page.evaluate("window.latentMap && window.latentMap.drawn") == len(everyone), errors
        assert page.evaluate("window.latentMap.overlay.path.length") == 2
        browser.close()
    assert not errors and all(u.startswith("file:") for u in requests), (errors, requests)


def test_map_writes_a_png(idx: list[str], tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    s = run_json("map", *idx, "--out", out, "--query", "refund", "--method", "pca")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert s["out"] == str(out)
    text = run("map", *idx, "--out", tmp_path / "again.png", "--method", "pca")
    assert text.exit_code == 0 and "Wrote a map of" in text.stdout


def test_clusters_sample_and_axis(idx: list[str]) -> None:
    everyone = visible(idx, None)
    found = run_json("clusters", *idx, "-k", "3")
    assert len(found) == 3 and sum(c["size"] for c in found) == len(everyone)
    assert set().union(*(c["ids"] for c in found)) == everyone and all(c["label"] for c in found)
    table = run("clusters", *idx, "-k", "3")
    assert table.exit_code == 0 and "3 cluster(s)" in table.stdout

    mine = visible(idx, [FINANCE])
    assert {i for c in run_json("clusters", *idx, "-p", FINANCE) for i in c["ids"]} == mine

    draws = run_json("sample", "4", *idx, "--around", "vpn disconnects", "--seed", "1")
    ids = [d["id"] for d in draws]
    assert len(ids) == len(set(ids)) == 4 and set(ids) <= everyone
    assert all(d["distance"] >= 0 for d in draws)
    assert run("sample", "2", *idx, "--around", "@TICKET-101").exit_code == 0

    axis = run_json("axis", "refund for a customer", "vpn network outage", *idx)
    assert {a["id"] for a in axis} == everyone
    assert [a["coord"] for a in axis] == sorted(a["coord"] for a in axis)
    table = run("axis", "refund", "vpn", *idx, "--limit", "2")
    assert table.exit_code == 0 and "more" in table.stdout


def test_bad_input_is_a_usage_error(idx: list[str], tmp_path: Path) -> None:
    r = run("map", *idx, "--out", tmp_path / "map.svg")
    assert r.exit_code == 2 and ".html or .png" in r.stderr
    r = run("map", *idx, "--out", tmp_path / "m.html", "--query", "a", "--expr", "b")
    assert r.exit_code == 2
    r = run("sample", "3", *idx, "--spread", "0")
    assert r.exit_code == 2 and "spread" in r.stderr
    r = run("axis", "vpn", "vpn", *idx)
    assert r.exit_code == 2
    r = run("sample", "3", *idx, "--around", "@NO-SUCH-TICKET")
    assert r.exit_code == 3
    r = run("map", "--index", tmp_path / "nowhere", "--out", tmp_path / "m.html")
    assert r.exit_code == 3


@pytest.mark.parametrize("command", ["map", "clusters", "sample", "axis"])
def test_help_has_examples(command: str) -> None:
    r = run(command, "--help")
    assert r.exit_code == 0 and "Examples" in r.stdout and f"latentsearch {command}" in r.stdout
