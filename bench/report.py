"""Rewrite the results part of ``docs/benchmarks.md`` from ``bench/results/*.json``.

    python -m bench.report

The text between ``<!-- results:begin -->`` and ``<!-- results:end -->`` is generated: first
every goal next to its measured figure, then each scenario's table, machine and command. A full
run's results are shown where they exist, else the quick run's. Everything outside the markers
is written by hand and kept.
"""

from __future__ import annotations

import json
from typing import Any

from bench.common import RESULTS, ROOT, plain_command

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
MARK = {True: "met", False: "**NOT MET**", None: "not run"}


def load() -> list[dict[str, Any]]:
    """One result per scenario: the full run's when there is one, else the quick run's."""
    by: dict[str, dict[str, Any]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        if not isinstance(r, dict) or "scenario" not in r:
            continue  # another bench's own record (s2-codes, s3-versus), not a scenario report
        have = by.get(r["scenario"])
        if have is None or (have["quick"] and not r["quick"]):
            by[r["scenario"]] = r
    return [by[k] for k in sorted(by)]


def _cell(v: Any, fmt: str) -> str:
    return (
        fmt.format(v) if isinstance(v, int | float) and not isinstance(v, bool) else str(v or "—")
    )


def _best(rows: list[dict], key: str, kind: str, better: str, group: str) -> float | None:
    vals = [
        r["values"][key]
        for r in rows
        if r["kind"] == kind
        and r.get("group", "") == group
        and isinstance(r["values"].get(key), int | float)
    ]
    if not vals:
        return None
    return min(vals) if better == "lower" else max(vals)


def table(r: dict[str, Any]) -> list[str]:
    metrics = r["metrics"]
    head = [
        "system",
        *(
            f"{m['label']} ({'lower' if m['better'] == 'lower' else 'higher'} is better)"
            for m in metrics
        ),
    ]
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in r["rows"]:
        cells = [row["system"] + ("" if row["kind"] == "ours" else f" ({row['kind']})")]
        for m in metrics:
            v = row["values"].get(m["key"])
            cell = _cell(v, m["fmt"])
            if row["kind"] == "ours" and isinstance(v, int | float):
                for kind, name in (("peer", "best peer"), ("floor", "floor"), ("limit", "limit")):
                    ref = _best(r["rows"], m["key"], kind, m["better"], row.get("group", ""))
                    if ref:
                        cell += f"<br>{v / ref:.2f}× {name}"
            cells.append(cell)
        out.append("| " + " | ".join(cells) + " |")
    return out


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        BEGIN,
        "",
        "## Goals",
        "",
        "| scenario | goal | target | measured | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for g in r["goals"]:
            lines.append(
                f"| {r['scenario']} | {g['text']} | {g['target']} | {g['measured']} | {MARK[g['met']]} |"
            )
    for r in results:
        m = r["machine"]
        lines += [
            "",
            f"## {r['scenario']}: {r['title']}",
            "",
            f"{r['data']}",
            "",
            *table(r),
            "",
        ]
        lines += [f"- {n}" for n in r["notes"]]
        lines += [
            f"- Run: `{plain_command(r['command'])}` ({'quick' if r['quick'] else 'full'} run, "
            f"{r['wall_s']} s, finished {r['finished']}).",
            f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['gpus']} GPU(s), "
            f"load average {m['load_average'][0]} at the end; Python {m['python']}, faiss "
            f"{m['faiss']}, torch {m['torch']}, sentence-transformers {m['sentence_transformers']}.",
        ]
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    results = load()
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    DOC.write_text(head + render(results) + tail)
    print(f"wrote {DOC.relative_to(ROOT)} from {len(results)} scenario result(s)")


if __name__ == "__main__":
    main()
