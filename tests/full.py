"""How big a test run is: the CI default, or the full counts under ``LATENTSEARCH_TEST_FULL=1``.

``make test-full`` sets the variable. Suites size their loops with `scaled`, e.g.
``for _ in range(scaled(ci=3, full=50))``, so CI stays within minutes and the full run reaches
the counts the security issue asks for.
"""

from __future__ import annotations

import os

ENV_VAR = "LATENTSEARCH_TEST_FULL"


def full_run() -> bool:
    """True when the full counts were asked for (``LATENTSEARCH_TEST_FULL`` set and not 0)."""
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


FULL = full_run()  # for module-level constants; `scaled` reads the variable at each call


def scaled(ci: int, full: int) -> int:
    """``full`` in a full run, else ``ci``."""
    return full if full_run() else ci
