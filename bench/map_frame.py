"""MAP: frame time of the map renderer (server/static/map.js) with 100k points, in Chromium.

The page is the one ``latentsearch map --out map.html`` writes (cli/map_export.html_page), with
synthetic map data: ``--n`` points in 20 Gaussian blobs (clusters, labels, a metadata field),
so that this measures the renderer alone, not the projection (bench the API for that). It opens
in Debian's headless Chromium (software canvas: --disable-gpu) through Playwright, then times:

* the first draw (parse the inlined data, index it, rasterise, composite);
* a full frame, as on every pan or zoom step: rasterise every point again, composite, overlays;
* an overlay frame, as on hover: composite the kept bitmap and redraw labels, rings, tooltip ring;
* a hover lookup (the grid search for the point under the cursor), and real mouse moves;
* the JS heap after drawing.

Goal (issue 14, "renders 100k points interactively"): a full frame within 50 ms (20 frames a
second while panning) and an overlay frame within 16 ms (60 a second while hovering), p95.

    python -m bench.map_frame [--quick] [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Goal, Metric, Report, Row, report
from latentsearch.cli.map_export import html_page

CHROMIUM = os.environ.get("LATENTSEARCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--enable-precise-memory-info",  # else performance.memory is rounded to buckets
]
FULL_GOAL_MS, OVERLAY_GOAL_MS = 50.0, 16.0


def synthetic(n: int, seed: int = 0) -> dict[str, Any]:
    """Map data in the shape of the HTTP map answer: ``n`` points in 20 blobs."""
    rnd = random.Random(seed)
    centres = [(rnd.uniform(-10, 10), rnd.uniform(-10, 10)) for _ in range(20)]
    points = []
    for i in range(n):
        c = i % 20
        cx, cy = centres[c]
        points.append(
            {
                "id": f"doc-{i}",
                "x": round(rnd.gauss(cx, 1.0), 4),
                "y": round(rnd.gauss(cy, 1.0), 4),
                "title": f"Document {i}",
                "kind": "text",
                "cluster": c,
                "parent": None,
                "snippet": f"synthetic passage {i} of cluster {c}",
                "metadata": {"team": f"team-{i % 7}"},
            }
        )
    clusters = [
        {
            "id": c,
            "label": f"topic {c}",
            "terms": [f"t{c}"],
            "size": n // 20,
            "medoid": f"doc-{c}",
            "x": x,
            "y": y,
        }
        for c, (x, y) in enumerate(centres)
    ]
    return {
        "points": points,
        "clusters": clusters,
        "method": "synthetic",
        "seed": seed,
        "seq": 0,
        "fitted_on": n,
        "cached": False,
        "color_by": "cluster",
    }


MEASURE = """async () => {
  const m = window.latentMap, out = {};
  const times = (fn, runs) => { const t = []; for (let i = 0; i < runs; i++) { const s = performance.now(); fn(i); t.push(performance.now() - s); } return t; };
  out.full = times((i) => { m.view.px = (i % 10) - 5; m.invalidate(); }, 30);
  out.overlay = times(() => m.render(), 100);
  const W = m.W, H = m.H;
  let found = 0;
  out.pick = times(() => { if (m.pick(Math.random() * W, Math.random() * H) >= 0) found++; }, 1000);
  out.found = found;
  m.setQuery({ x: 0, y: 0, label: "query" }, m.points.slice(0, 50).map((p) => p.id));
  out.overlay_rings = times(() => m.render(), 50);
  out.points = Number(m.canvas.dataset.points);
  out.heap = performance.memory ? performance.memory.usedJSHeapSize : null;
  return out;
}"""


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(0.95 * len(s)) - 1)]


def measure(n: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "map.html"
        page_path.write_text(html_page(synthetic(n), f"{n} synthetic points"), encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            started = time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_function(
                "window.latentMap && window.latentMap.drawn > 0", timeout=120_000
            )
            first_ms = (time.perf_counter() - started) * 1000
            out: dict[str, Any] = page.evaluate(MEASURE)
            box = page.locator("#map canvas").bounding_box()
            assert box is not None
            t0 = time.perf_counter()
            for i in range(60):  # real mouse moves: events, lookup, tooltip, overlay frame
                page.mouse.move(box["x"] + 50 + i * 9, box["y"] + 100 + (i % 7) * 40)
            out["mouse_move_ms"] = (time.perf_counter() - t0) * 1000 / 60
            browser.close()
    out["first_ms"] = first_ms
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 points: check that it runs")
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    n = 10_000 if args.quick else args.n  # above SMOOTH_MAX: the pixel-stamp path of 100k
    started = time.perf_counter()
    r = measure(n)
    full, overlay = p95(r["full"]), p95(r["overlay"])
    values = {
        "first_ms": r["first_ms"],
        "full_p50_ms": statistics.median(r["full"]),
        "full_p95_ms": full,
        "overlay_p95_ms": overlay,
        "rings_p95_ms": p95(r["overlay_rings"]),
        "pick_p95_ms": p95(r["pick"]),
        "mouse_move_ms": r["mouse_move_ms"],
        "heap_mib": (r["heap"] or 0) / (1 << 20),
    }
    assert r["points"] == n, f"drew {r['points']} of {n} points"
    rep = Report(
        scenario="MAP",
        title="map renderer frame time in headless Chromium (software canvas)",
        data=f"{n:,} synthetic points in 20 clusters, 1280×800 viewport",
        metrics=[
            Metric("first_ms", "first draw ms"),
            Metric("full_p50_ms", "full frame p50 ms"),
            Metric("full_p95_ms", "full frame p95 ms"),
            Metric("overlay_p95_ms", "hover frame p95 ms"),
            Metric("rings_p95_ms", "frame with 50 rings p95 ms"),
            Metric("pick_p95_ms", "hover lookup p95 ms", fmt="{:.3f}"),
            Metric("mouse_move_ms", "mouse move ms"),
            Metric("heap_mib", "JS heap MiB"),
        ],
        rows=[Row("latentsearch map.js", "ours", values, group=str(n))],
        goals=[
            Goal(
                f"pan/zoom frame, {n:,} points",
                f"≤ {FULL_GOAL_MS:g} ms p95",
                f"{full:.1f} ms",
                full <= FULL_GOAL_MS,
            ),
            Goal(
                f"hover frame, {n:,} points",
                f"≤ {OVERLAY_GOAL_MS:g} ms p95",
                f"{overlay:.1f} ms",
                overlay <= OVERLAY_GOAL_MS,
            ),
        ],
        notes=[
            "every point drawn was counted by the renderer (canvas data-points)",
            "headless Chromium with --disable-gpu: a software canvas, the slowest case",
        ],
        extra={
            "raw_ms": {k: r[k] for k in ("full", "overlay", "pick")},
            "json": json.dumps({"n": n}),
        },
    )
    report(rep, quick=args.quick, started=started)


if __name__ == "__main__":
    main()
