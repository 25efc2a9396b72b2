"""How the leak property tests run: hypothesis settings, the seed, and the count of cases.

No deadline (these tests talk to databases and servers on a busy machine). In CI the examples are
derandomised: the same cases run every time, so a CI failure always reproduces and CI never flakes
on a case it happened to draw. `make test-full` (LATENTSEARCH_TEST_FULL=1) explores instead: a
fresh random seed per run (or LATENTSEARCH_TEST_SEED), printed in the header and attached to
every failure, with five times more cases and a base world drawn from that seed. Either way a
failure prints hypothesis's falsifying example and a @reproduce_failure blob.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from full import FULL
from hypothesis import HealthCheck, note, seed, settings

SEED = int(os.environ.get("LATENTSEARCH_TEST_SEED") or random.randrange(2**32)) if FULL else 0
CASES: Counter[str] = Counter()  # generated cases run, per database

settings.register_profile(
    "leaks",
    deadline=None,
    derandomize=not FULL,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def run_cases(kind: str, n: int, prop: Callable[[], None]) -> None:
    """Run the @given property ``prop`` for ``n`` examples and check that they all ran.

    ``prop`` must call `count(kind)` once per example.
    """
    test = settings(settings.get_profile("leaks"), max_examples=n)(prop)
    if FULL:
        test = seed(SEED)(test)
    before = CASES[kind]
    try:
        test()
    except BaseException as exc:
        exc.add_note(
            f"leak tests on {kind}: seed {SEED} (rerun with LATENTSEARCH_TEST_SEED={SEED})"
        )
        raise
    ran = CASES[kind] - before
    assert ran >= n, f"only {ran} of {n} generated cases ran"


def count(kind: str, **case: Any) -> None:
    """Count one case, and note its arguments for the failure report (this pytest and hypothesis
    pair prints a falsifying example's arguments empty)."""
    CASES[kind] += 1
    note("case: " + ", ".join(f"{k}={v!r}" for k, v in case.items()))


def world_seed() -> int:
    """The base world's seed: fixed in CI, from the run's seed in the full run."""
    return SEED % 10_000 if FULL else 11
