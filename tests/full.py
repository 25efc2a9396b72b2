"""`make test-full` sets LATENTSEARCH_TEST_FULL=1: the large counts. CI runs the small ones."""

from __future__ import annotations

import os

FULL = os.environ.get("LATENTSEARCH_TEST_FULL", "") not in ("", "0")


def scaled(ci: int, full: int) -> int:
    """``full`` under LATENTSEARCH_TEST_FULL=1, else ``ci``."""
    return full if FULL else ci
