"""Where a filtered search spends its time: cProfile of S3's queries, case by case.

    PYTHONPATH=. python -m bench.s3_profile [--spec IVF1024,Flat] [--n 100000] [--cases none,1%,1%+acl]

Builds S3's workload (`bench.s3_workload`) into one collection, runs 100 queries per case that
are not profiled (queries 100..199: the code paths and the caller's visible set warm up, as they
would in a server), then profiles queries 0..99 of the same case, each with a filter of its own,
and prints the functions by cumulative time. Profiling inflates every call alike (about 1.3×
here), so read the shares, not the absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time

import latentsearch as ls
from bench.s3_filtered import build_ours, tuned
from bench.s3_workload import CALLER, where_for, with_acl, workload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="IVF1024,Flat")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--cases", default="none,1%,1%+acl")
    ap.add_argument("--top", type=int, default=28, help="functions printed per case")
    args = ap.parse_args()
    w = workload(args.n, 200)
    with tempfile.TemporaryDirectory() as tmp, ls.connect(tmp) as db:
        col, build = build_ours(db, w, args.spec)
        print(f"{args.spec}: built in {build:.1f} s, {tuned(col)}")
        for case in args.cases.split(","):
            principals = CALLER if with_acl(case) else None
            for j in range(100, 200):
                col.search(w.q[j], k=10, where=where_for(case, j), principals=principals)
            prof = cProfile.Profile()
            t = time.perf_counter()
            prof.enable()
            for j in range(100):
                col.search(w.q[j], k=10, where=where_for(case, j), principals=principals)
            prof.disable()
            per = (time.perf_counter() - t) * 10
            print(f"\n##### {case}: {per:.3f} ms per query (profiled)")
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
