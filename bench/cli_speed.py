"""CLI: how long the ``latentsearch`` command takes, each figure next to ``python -c pass``.

Three commands of issue 12's goals, each run as a user runs it (the console script in a fresh
process), ``--runs`` times, interleaved with the others so that a change of machine load shifts
every row alike, after one untimed warm-up run each:

* ``latentsearch --help``: goal ≤ 0.3 s median;
* ``latentsearch search QUERY --index IDX``, QUERY searched before (its vector is in the index
  folder's query-vector file): goal ≤ 0.5 s;
* ``latentsearch build TREE --index IDX`` again over unchanged files: goal ≤ 1 s, with no model
  loaded (checked: the warm-up run reports 0 items encoded).

The corpus is 1,460 text files: the 1,400 Cranfield abstracts (title and text, one file each, as
``bench/incremental.py`` writes them) and the first 60 Cranfield queries. The index is built once
(embedding ~1,900 chunks: minutes on 2 cores) and kept in ``--work``. ``python -c pass`` is the
floor: the least any Python command costs on the machine at that moment.

Each row gives the median and best wall time, and the median CPU time (user + system, from the
kernel's accounting of the child): CPU time barely moves with the machine's load, wall time does.
``--compare DIR`` also runs every command from another checkout of the package (PYTHONPATH=DIR,
e.g. the commit before a change), in the same rounds: rows ``(before)``.

    python -m bench.cli_speed [--quick] [--runs 15] [--compare ../main] [--work bench-out/cli_speed]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, Goal, Metric, Report, Row, report
from bench.cranfield import DEFAULT_DATA, parse_smart

QUERY = "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft"
GOALS = {"help": 0.3, "search": 0.5, "rebuild": 1.0}


@dataclass
class Command:
    key: str  # floor | help | search | rebuild
    label: str
    argv: list[str]
    env: dict[str, str]
    kind: str
    group: str = ""


def make_tree(data: Path, folder: Path, n: int) -> int:
    """``n`` text files: Cranfield abstracts first, then Cranfield queries. Rewritten only when
    the count changes, so that a kept index stays a no-change rebuild away."""
    stamp = folder / ".count"
    if stamp.is_file() and stamp.read_text() == str(n):
        return n
    shutil.rmtree(folder, ignore_errors=True)
    texts = [
        (r["T"].strip() + "\n\n" + r["W"].strip() + "\n")
        for r in parse_smart(data / "cran.all.1400")
    ]
    texts += [r["W"].strip() + "\n" for r in parse_smart(data / "cran.qry")]
    for i, text in enumerate(texts[:n], start=1):
        sub = folder / f"part-{i // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc-{i:04d}.txt").write_text(text)
    stamp.write_text(str(n))
    return min(n, len(texts))


def cli_prefix() -> list[str]:
    """The console script beside this Python (as installed), else ``python -m latentsearch``."""
    script = Path(sys.executable).with_name("latentsearch")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "latentsearch"]


def env_for(package_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(package_root),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def run_once(cmd: Command) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        cmd.argv, env=cmd.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd.argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]!r}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def check_rebuild(cmd: Command, n: int) -> None:
    """The rebuild really is a no-change one: nothing encoded, every document unchanged."""
    proc = subprocess.run(
        [*cmd.argv, "--json"], env=cmd.env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    s = json.loads(proc.stdout)
    if s["items_encoded"] or s["added"] or s["updated"]:
        raise RuntimeError(f"the rebuild of {cmd.label} was not a no-change one: {s}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 files and 5 runs")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command (15)")
    parser.add_argument("--records", type=int, default=None, help="text files (1460)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "cli_speed")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout to time too")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = args.runs or (5 if args.quick else 15)
    n = args.records or (200 if args.quick else 1460)
    work = args.work / (f"n{n}")
    tree, index = work / "tree", work / "index"
    n = make_tree(args.data, tree, n)

    ours, cli = env_for(ROOT), cli_prefix()
    if not (index / "latentsearch.db").is_file():
        print(f"building the index of {n} files once (kept in {index}) ...", flush=True)
        subprocess.run(
            [*cli, "build", str(tree), "--index", str(index), "--json"],
            env=ours,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    commands = [Command("floor", "python -c pass", [sys.executable, "-c", "pass"], ours, "floor")]
    versions = [("", ours)] + (
        [(" (before)", env_for(args.compare.resolve()))] if args.compare else []
    )
    for tag, env in versions:
        kind = "peer" if tag else "ours"  # ratios '× best peer' compare the same command
        commands += [
            Command("help", f"latentsearch --help{tag}", [*cli, "--help"], env, kind, "help"),
            Command(
                "search",
                f"latentsearch search, query cached{tag}",
                [*cli, "search", QUERY, "--index", str(index)],
                env,
                kind,
                "search",
            ),
            Command(
                "rebuild",
                f"latentsearch build, no change{tag}",
                [*cli, "build", str(tree), "--index", str(index)],
                env,
                kind,
                "rebuild",
            ),
        ]
    for cmd in commands:  # warm-up: file caches, the query-vector file, the export cache
        run_once(cmd)
        if cmd.key == "rebuild":
            check_rebuild(cmd, n)
    walls: dict[str, list[float]] = {c.label: [] for c in commands}
    cpus: dict[str, list[float]] = {c.label: [] for c in commands}
    for i in range(runs):
        for cmd in commands:
            wall, cpu = run_once(cmd)
            walls[cmd.label].append(wall)
            cpus[cmd.label].append(cpu)
        print(f"round {i + 1}/{runs} done", flush=True)

    floor = statistics.median(walls["python -c pass"])
    rows, goals = [], []
    for cmd in commands:
        med = statistics.median(walls[cmd.label])
        values = {
            "wall_p50_s": med,
            "wall_min_s": min(walls[cmd.label]),
            "cpu_p50_s": statistics.median(cpus[cmd.label]),
            "x_pass": med / floor,
        }
        rows.append(Row(cmd.label, cmd.kind, values, note=" ".join(cmd.argv[-4:]), group=cmd.group))
        if cmd.kind == "ours" and cmd.key in GOALS:
            goals.append(
                Goal(
                    cmd.label,
                    f"≤ {GOALS[cmd.key]} s median wall",
                    f"{med:.3f} s ({med / floor:.1f}× python -c pass, {floor:.3f} s)",
                    med <= GOALS[cmd.key],
                )
            )
    load = os.getloadavg()
    rep = Report(
        scenario="CLI",
        title="command-line start-up: --help, a cached search, a no-change rebuild",
        data=f"{n} text files (Cranfield abstracts, then queries); {runs} runs per command, interleaved",
        metrics=[
            Metric("wall_p50_s", "wall p50 s", fmt="{:.3f}"),
            Metric("wall_min_s", "wall min s", fmt="{:.3f}"),
            Metric("cpu_p50_s", "CPU p50 s", fmt="{:.3f}"),
            Metric("x_pass", "× python -c pass", fmt="{:.1f}"),
        ],
        rows=rows,
        goals=goals,
        notes=[
            f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            "'× python -c pass' divides each median by the floor's; '× best peer' divides ours by "
            "the same command's (before) row",
            f"search query: {QUERY!r}",
        ],
        extra={
            "runs": runs,
            "files": n,
            "walls_s": walls,
            "cpus_s": cpus,
            "compare": str(args.compare) if args.compare else None,
        },
    )
    report(rep, quick=args.quick, started=started)


if __name__ == "__main__":
    main()
