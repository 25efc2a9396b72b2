"""Incremental builds: first build vs a rebuild of the unchanged tree vs a rebuild after one edit.

    python bench/incremental.py [--data bench/data/cranfield] [--work bench-out/incremental]

The tree is the 1,400 Cranfield abstracts written as one ``.txt`` file each (a folder of
documents), built through the `latentsearch` command with the default model. Each build is timed
twice: the wall time of the whole command (Python start-up, imports and model load included) and
the build's own elapsed time from its ``--json`` summary. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cranfield import DEFAULT_DATA, parse_smart


def make_tree(data: Path, folder: Path) -> int:
    if folder.exists():
        shutil.rmtree(folder)
    n = 0
    for rec in parse_smart(data / "cran.all.1400"):
        sub = folder / f"part-{int(rec['I']) // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        text = rec.get("T", "").strip() + "\n\n" + rec.get("W", "").strip() + "\n"
        (sub / f"doc-{int(rec['I']):04d}.txt").write_text(text)
        n += 1
    return n


def build(tree: Path, index: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "latentsearch", "build", str(tree), "--index", str(index), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=Path("bench-out/incremental"))
    args = parser.parse_args()
    tree, index = args.work / "tree", args.work / "index"
    n = make_tree(args.data, tree)
    shutil.rmtree(index, ignore_errors=True)
    rows = [("first build", *build(tree, index)), ("no change", *build(tree, index))]
    edited = tree / "part-00" / "doc-0001.txt"
    edited.write_text(edited.read_text() + "\nAn added closing sentence about wing slipstreams.\n")
    rows.append(("one file edited", *build(tree, index)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{n} text files (Cranfield abstracts), all-MiniLM-L6-v2 on CPU; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end, Python {platform.python_version()}"
    )
    first_wall, first = rows[0][1], rows[0][2]
    print(
        f"{'build':<16} {'wall s':>8} {'build s':>8} {'encoded':>8} {'unchanged':>9} {'wall x':>7} {'build x':>8}"
    )
    for name, wall, s in rows:
        print(
            f"{name:<16} {wall:>8.2f} {s['elapsed_s']:>8.3f} {s['items_encoded']:>8} {s['unchanged']:>9} "
            f"{first_wall / wall:>7.1f} {first['elapsed_s'] / max(s['elapsed_s'], 1e-3):>8.0f}"
        )


if __name__ == "__main__":
    main()
