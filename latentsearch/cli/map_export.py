"""Writing a map for ``latentsearch map --out``: a self-contained HTML page or a static PNG.

The HTML page inlines the page's renderer (server/static/map.js, map.css, map-export.js) and the
map's data, so it opens from disk with no server and no network. The PNG is drawn by matplotlib
(the ``map`` extra): the same points, colours, labels and query overlay, for docs and reports.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

from latentsearch.errors import InvalidInputError

STATIC = Path(__file__).resolve().parents[1] / "server" / "static"
# The renderer's palette (map.js), so that the PNG and the page colour alike.
PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#2f4b7c", "#a05195", "#d45087", "#665191", "#003f5c", "#7a9e00", "#00876c",
    "#c44e52", "#8172b3", "#937860",
]  # fmt: skip
OTHER = "#b8bec8"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
body {{ margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d2430; }}
header {{ padding: .6rem 1rem; border-bottom: 1px solid #e5e7eb; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }}
header h1 {{ font-size: 1.1rem; margin: 0; }}
main {{ display: grid; grid-template-columns: 1fr 22rem; gap: 1rem; padding: 1rem; height: calc(100vh - 4rem); }}
#map {{ height: 100%; }}
aside {{ overflow: auto; }}
aside ol {{ padding-left: 2.2rem; }} aside li {{ cursor: pointer; margin-bottom: .4rem; }}
.snippet {{ font-size: .8rem; color: #374151; }} .muted {{ color: #6b7280; }}
#item {{ border: 1px solid #e5e7eb; border-radius: 6px; padding: .5rem .7rem; margin-bottom: .8rem; }}
#item h3 {{ margin: 0 0 .2rem; font-size: 1rem; }}
#interp {{ display: flex; gap: .4rem; align-items: center; }} #slider {{ flex: 1; }}
button[aria-pressed=true] {{ background: #2563eb; color: #fff; }}
</style></head>
<body>
<header><h1>{title}</h1><select id="color" aria-label="Colour by"></select>
<button type="button" id="select">Select region</button><button type="button" id="reset">Reset view</button>
<button type="button" id="clear">Clear</button><span id="summary" class="muted"></span></header>
<main><div id="map"></div>
<aside><div id="item" hidden></div>
<div id="interp"><span id="map-a">A: –</span><input type="range" id="slider" min="0" max="100" step="5" value="0" disabled><span id="map-b">B: –</span></div>
<p id="nearest" class="muted">Open two points and use them as A and B to walk between them.</p>
<h2 id="side-title"></h2><ol id="side-list"></ol></aside></main>
<script type="application/json" id="map-data">{data}</script>
<script>{mapjs}</script>
<script>{exportjs}</script>
</body></html>
"""


def html_page(data: dict[str, Any], title: str) -> str:
    """The self-contained HTML page of a map (``data``: the shape of the HTTP map answer)."""
    # Inside <script>, "</" could close the element: JSON allows "<\\/" for it.
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return PAGE.format(
        title=html.escape(title),
        css=(STATIC / "map.css").read_text(encoding="utf-8"),
        data=payload,
        mapjs=(STATIC / "map.js").read_text(encoding="utf-8"),
        exportjs=(STATIC / "map-export.js").read_text(encoding="utf-8"),
    )


def write(data: dict[str, Any], out: Path, title: str) -> None:
    """Write ``out`` as HTML or PNG, by its suffix."""
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        out.write_text(html_page(data, title), encoding="utf-8")
    elif suffix == ".png":
        write_png(data, out, title)
    else:
        raise InvalidInputError(f"--out must end with .html or .png, not {out.name!r}")


def colours(data: dict[str, Any], field: str) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Each point's colour, and the legend (label, colour, count), as map.js chooses them: the
    most frequent values get the palette, the rest grey."""
    names = {c["id"]: c["label"] for c in data["clusters"]}

    def value(p: dict[str, Any]) -> Any:
        v = p["cluster"] if field == "cluster" else p["metadata"].get(field)
        return None if v is None else json.dumps(v)

    counts = Counter(v for v in map(value, data["points"]) if v is not None)
    slot = {v: PALETTE[i] for i, (v, _) in enumerate(counts.most_common(len(PALETTE)))}
    legend = [
        (
            names.get(json.loads(v), f"cluster {v}") if field == "cluster" else json.loads(v),
            c,
            counts[v],
        )
        for v, c in slot.items()
    ]
    rest = len(data["points"]) - sum(counts[v] for v in slot)
    if rest:
        legend.append(("other / none", OTHER, rest))
    return [slot.get(value(p), OTHER) for p in data["points"]], legend


def write_png(data: dict[str, Any], out: Path, title: str) -> None:
    """A static picture of the map, drawn with matplotlib (headless Agg backend)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        raise InvalidInputError(
            "a PNG map needs matplotlib: pip install 'latentsearch[map]' (or write --out map.html)"
        ) from None
    pts = data["points"]
    field = data.get("color_by") or "cluster"
    colors, legend = colours(data, field)
    fig, ax = plt.subplots(figsize=(10, 7.5), dpi=120)
    size = 4 if len(pts) > 20_000 else 12 if len(pts) > 2_000 else 36
    ax.scatter([p["x"] for p in pts], [p["y"] for p in pts], c=colors, s=size, linewidths=0)
    halo = [_halo()]
    for c in data["clusters"]:
        if c.get("x") is not None:
            ax.annotate(
                c["label"],
                (c["x"], c["y"]),
                xytext=(0, 10),  # above the cluster's middle, not over its points
                textcoords="offset points",
                ha="center",
                fontsize=9,
                weight="bold",
                path_effects=halo,
            )
    if data.get("path"):
        path = data["path"]
        ax.plot([p["x"] for p in path], [p["y"] for p in path], "--o", color="#7c3aed", ms=5)
        for p in path:
            ax.annotate(
                p["label"],
                (p["x"], p["y"]),
                xytext=(6, -12),
                textcoords="offset points",
                fontsize=8,
                color="#5b21b6",
                path_effects=halo,
            )
    if data.get("query"):
        q, at = data["query"], {p["id"]: p for p in pts}
        ringed = [at[i] for i in data.get("rings", []) if i in at]
        ax.scatter(
            [p["x"] for p in ringed],
            [p["y"] for p in ringed],
            s=size * 5 + 60,
            facecolors="none",
            edgecolors="#dc2626",
            linewidths=1.5,
        )
        ax.scatter([q["x"]], [q["y"]], marker="X", s=120, color="#dc2626", edgecolors="white")
        ax.annotate(
            q["label"],
            (q["x"], q["y"]),
            xytext=(8, 8),
            textcoords="offset points",
            color="#dc2626",
            fontsize=9,
            path_effects=halo,
        )
    handles = [
        Line2D([], [], marker="o", ls="", color=c, label=f"{label} ({n})")
        for label, c, n in legend[:12]
    ]
    if handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=8,
            frameon=False,
            title=field,
        )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _halo() -> Any:
    from matplotlib import patheffects

    return patheffects.withStroke(linewidth=3, foreground="white")
