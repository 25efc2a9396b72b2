"""Shared pieces of the benchmark suite: the machine, timing, one table per scenario, JSON results.

Every scenario module (``bench/s1_cranfield.py`` ... ``bench/s6_machine.py``) measures every
system on the same data in the same run, then calls `report`, which

* prints one table: a row per system, and beside each figure its ratio to the best peer
  (and to the floor or the machine limit where the scenario has one);
* prints each goal of the issue next to the measured figure, with MET / NOT MET;
* writes ``bench/results/<scenario>[-quick].json`` with the machine description, the command,
  the rows and the goals, which `bench/report.py` turns into ``docs/benchmarks.md``.

Row kinds: ``ours`` (latentsearch), ``peer`` (txtai, Chroma, gensim...), ``floor`` (plain
sentence-transformers + raw FAISS: the least any engine can cost) and ``limit`` (what the machine
allows). Ratios are "ours / other" for every metric, so read them with the metric's direction.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CRANFIELD = ROOT / "bench" / "data" / "cranfield"  # vendored, see its README


# -- the machine ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """CPU model, cores, memory, load, library versions and GPUs: what every result is tied to."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_meminfo("MemTotal") / (1 << 20), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for mod in ("numpy", "faiss", "torch", "sentence_transformers", "sqlalchemy"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # a missing or broken library is part of the description, not an error
            info[mod] = None
    try:
        import faiss

        info["gpus"] = faiss.get_num_gpus()
    except Exception:
        info["gpus"] = 0
    return info


def describe(m: dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['gpus']} GPU(s); "
        f"load {m['load_average'][0]}; Python {m['python']}, faiss {m['faiss']}, torch {m['torch']}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meminfo(key: str) -> int:
    """A /proc/meminfo figure in KiB (0 where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mib() -> float:
    """This process's peak resident set size so far.

    Read from ``VmHWM`` in ``/proc/self/status`` where there is one: Linux carries the parent's
    peak into ``ru_maxrss`` across vfork + exec, so every S2 child at 10M reported the 15 GB
    its parent had held while generating the data, whatever the child itself used.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- timing -----------------------------------------------------------------------------------
def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ms = sorted(1000 * t for t in samples_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50_ms": statistics.median(ms), "p95_ms": p95}


def time_each(fn: Callable[[Any], Any], inputs: Sequence[Any], warmup: int = 3) -> list[float]:
    """Seconds per call of ``fn(x)`` for each input, after ``warmup`` untimed calls."""
    for x in inputs[:warmup]:
        fn(x)
    out = []
    for x in inputs:
        t = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t)
    return out


class Timer:
    """``with Timer() as t: ...`` then ``t.s``."""

    def __enter__(self) -> Timer:
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.s = time.perf_counter() - self._t


# -- children ---------------------------------------------------------------------------------
def run_child(argv: Sequence[str], python: str | None = None, timeout: float = 3600) -> dict:
    """Run ``python argv...`` and return the JSON object its last stdout line prints.

    Builds run in children so that peak RSS and import costs are each system's own; peers run in
    the bench virtual environment's Python when it differs from ours.
    """
    cmd = [python or sys.executable, *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON result:\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1])


def emit(result: dict[str, Any]) -> None:
    """A child's answer to `run_child`: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


# -- the report -------------------------------------------------------------------------------
@dataclass
class Metric:
    key: str
    label: str
    better: str = "lower"  # or "higher"
    fmt: str = "{:.1f}"


@dataclass
class Row:
    system: str
    kind: str  # ours | peer | floor | limit
    values: dict[str, Any]
    note: str = ""
    group: str = ""  # ratios compare rows of the same group only (e.g. the same data size)


@dataclass
class Goal:
    text: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run (say why in measured)


@dataclass
class Report:
    scenario: str
    title: str
    data: str
    metrics: list[Metric]
    rows: list[Row] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _best(rows: list[Row], m: Metric, kind: str, group: str = "") -> Row | None:
    cands = [
        r
        for r in rows
        if r.kind == kind and r.group == group and isinstance(r.values.get(m.key), int | float)
    ]
    if not cands:
        return None
    pick = min if m.better == "lower" else max
    return pick(cands, key=lambda r: r.values[m.key])


def ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or b == 0:
        return None
    return a / b


def plain_command(cmd: str) -> str:
    """``python -m bench.x ...`` for a command that names a scenario by its script's path."""
    return re.sub(r"^\S*python\S* (?:\S*/)?bench/(\w+)\.py", r"python -m bench.\1", cmd)


def report(rep: Report, quick: bool, started: float | None = None) -> Path:
    """Print the scenario's table and goals, and write its JSON; return the JSON path."""
    from rich.console import Console
    from rich.table import Table

    m = machine()
    console = Console(width=160)
    table = Table(title=f"{rep.scenario}: {rep.title}", caption=rep.data, show_lines=False)
    table.add_column("system")
    for met in rep.metrics:
        arrow = "↓" if met.better == "lower" else "↑"
        table.add_column(f"{met.label} {arrow}", justify="right")
    for r in rep.rows:
        cells = [f"{r.system}" + (f" [dim]({r.kind})[/]" if r.kind != "ours" else "")]
        for met in rep.metrics:
            v = r.values.get(met.key)
            cell = met.fmt.format(v) if isinstance(v, int | float) else str(v or "—")
            if r.kind == "ours":
                for kind, name in (("peer", "best peer"), ("floor", "floor"), ("limit", "limit")):
                    ref = _best(rep.rows, met, kind, r.group)
                    x = ratio(v, ref.values[met.key]) if ref else None
                    if x is not None:
                        cell += f"\n[dim]{x:.2f}× {name}[/]"
            cells.append(cell)
        table.add_row(*cells)
    console.print(table)
    for g in rep.goals:
        mark = {True: "[green]MET[/]", False: "[red]NOT MET[/]", None: "[yellow]NOT RUN[/]"}[g.met]
        console.print(f"  {mark}  {g.text}: goal {g.target}; measured {g.measured}")
    for n in rep.notes:
        console.print(f"  [dim]note:[/] {n}")
    console.print(f"  [dim]machine: {describe(m)}[/]")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{rep.scenario.lower()}{'-quick' if quick else ''}.json"
    payload = {
        **asdict(rep),
        "quick": quick,
        "command": plain_command(" ".join(["python", *sys.argv])),
        "machine": m,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_s": round(time.perf_counter() - started, 1) if started else None,
    }
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(out)
    console.print(f"  [dim]wrote {out.relative_to(ROOT)}[/]")
    return out
