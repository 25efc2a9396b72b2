"""Run the benchmark suite: every scenario in turn, then the results page.

    python -m bench.run [--quick] [--only S1,S3] [--keep-going]

``make bench`` runs the full suite and ``make bench-quick`` the reduced one (under 10 minutes on
a 2-core machine), both in the bench virtual environment (``.venv-bench``: ours plus txtai,
Chroma, LanceDB and gensim). Each scenario runs in its own process, prints one table and writes
``bench/results/<scenario>[-quick].json``; `bench.report` then rewrites the results part of
``docs/benchmarks.md`` from those files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.common import ROOT

SCENARIOS = {
    "S1": "bench.s1_cranfield",
    "S1L": "bench.s1_long",
    "S2": "bench.s2_synthetic",
    "S3": "bench.s3_filtered",
    "S4": "bench.s4_analogies",
    "S5": "bench.s5_backends",
    "S6": "bench.s6_machine",
    "CLI": "bench.cli_speed",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the reduced suite (CI-sized)")
    ap.add_argument("--only", default="", help="comma-separated scenarios, e.g. S1,S3")
    ap.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    args = ap.parse_args()
    wanted = [s.strip().upper() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        ap.error(f"unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    failed: list[str] = []
    walls: dict[str, float] = {}
    for name in wanted:
        cmd = [sys.executable, "-m", SCENARIOS[name], *(["--quick"] if args.quick else [])]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        walls[name] = time.perf_counter() - t
        if rc != 0:
            failed.append(name)
            print(f"=== {name} FAILED (exit {rc})", flush=True)
            if not args.keep_going:
                break
    subprocess.call([sys.executable, "-m", "bench.report"], cwd=ROOT, env=env)
    total = time.perf_counter() - t0
    print("\n" + ", ".join(f"{n} {w:.0f} s" for n, w in walls.items()), f"; total {total:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
