"""FAISS's process-wide settings: nothing at import, everything through `configure`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import faiss
import pytest

from latentsearch.errors import InvalidInputError
from latentsearch.index import configure
from latentsearch.index.settings import BLAS_THRESHOLD, threads_for

ROOT = Path(__file__).resolve().parents[2]
READ = "import faiss; s = (faiss.omp_get_max_threads(), faiss.cvar.distance_compute_blas_threshold)"


def fresh_python(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter (FAISS's settings are per process) and return the JSON
    it prints last."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_importing_the_package_changes_no_faiss_setting() -> None:
    got = fresh_python(
        f"{READ}\nbefore = s\nimport latentsearch, latentsearch.index\n{READ}\n"
        "import json; print(json.dumps({'before': before, 'after': s}))"
    )
    assert got["before"] == got["after"]
    assert got["after"][1] > BLAS_THRESHOLD  # type: ignore[index]  (FAISS's default, untouched)


def test_configure_applies_threads_and_the_blas_threshold_when_called() -> None:
    got = fresh_python(
        "import json, threading, latentsearch.index as li\n"
        f"{READ}\nbefore = s\n"
        "first = li.configure(threads=1)\n"
        f"{READ}\nafter = s\n"
        "again = li.configure(threads=1)\n"  # a second call changes nothing
        f"{READ}\n"
        "print(json.dumps({'before': before, 'after': after, 'again': s,"
        " 'first': [first.threads, first.blas_threshold]}))"
    )
    assert got["before"] != got["after"]
    assert got["after"] == got["again"] == got["first"] == [1, BLAS_THRESHOLD]


def test_configure_keeps_a_lower_threshold_that_the_program_chose() -> None:
    got = fresh_python(
        "import json, faiss, latentsearch.index as li\n"
        "faiss.cvar.distance_compute_blas_threshold = 100\n"
        "li.configure()\n"
        "print(json.dumps({'t': faiss.cvar.distance_compute_blas_threshold}))"
    )
    assert got["t"] == 100


def test_connect_configures_faiss(tmp_path: Path) -> None:
    got = fresh_python(
        "import json, sys, faiss, latentsearch as ls\n"
        f"with ls.connect({str(tmp_path)!r}):\n"
        "    pass\n"
        "print(json.dumps({'t': faiss.cvar.distance_compute_blas_threshold}))"
    )
    assert got["t"] == BLAS_THRESHOLD


def test_configured_threads_reach_searches_on_other_threads() -> None:
    """OpenMP's count is per thread: a search on a server thread still gets the configured one."""
    got = fresh_python(
        "import json, threading, faiss, latentsearch.index as li\n"
        "from latentsearch.index.settings import threads_for\n"
        "li.configure(threads=1)\n"
        "seen = {}\n"
        "def work():\n"
        "    seen['own'] = faiss.omp_get_max_threads()\n"
        "    with threads_for(1000, 1 << 40):\n"  # a big search: every configured thread
        "        seen['search'] = faiss.omp_get_max_threads()\n"
        "    seen['after'] = faiss.omp_get_max_threads()\n"
        "t = threading.Thread(target=work); t.start(); t.join()\n"
        "print(json.dumps(seen))"
    )
    assert got["search"] == 1
    assert got["after"] == got["own"]  # the thread's own setting is put back


def test_unconfigured_big_searches_keep_the_threads_own_count() -> None:
    seen: dict[str, int] = {}

    def work() -> None:
        seen["own"] = faiss.omp_get_max_threads()
        with threads_for(1000, 1 << 40):
            seen["search"] = faiss.omp_get_max_threads()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["search"] == seen["own"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_configure_refuses_bad_thread_counts(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="threads"):
        configure(threads=bad)  # type: ignore[arg-type]
