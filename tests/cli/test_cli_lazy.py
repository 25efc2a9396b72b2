"""The command line loads only what a command needs (bench/cli_speed.py times it).

Each command runs in a fresh interpreter, as a user runs it, which then reports the heavy
modules it imported: ``--help`` imports no store, index, model or server; a rebuild with nothing
new loads no model; a search for a query embedded before loads no model and answers exactly as
the model would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ("torch", "sentence_transformers", "transformers", "openvino", "onnxruntime")
HEAVY = (*MODEL, "fastapi", "uvicorn", "faiss", "sqlalchemy", "alembic", "numpy", "PIL")
MARK = "@@modules "
# Runs the real entry point, then prints which of HEAVY it imported (on stderr, last line).
DRIVER = f"""
import json, sys
from latentsearch.cli import main
sys.argv[0] = "latentsearch"
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print({MARK!r} + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)
sys.exit(code)
"""


def cli(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """``latentsearch ARGS`` in a fresh interpreter: exit code, stdout, heavy modules imported."""
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})},
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(MARK)]
    assert lines, proc.stderr[-3000:]
    return proc.returncode, proc.stdout, json.loads(lines[-1].removeprefix(MARK))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("build", "--help"),
        ("search", "--help"),
        ("answer", "--help"),
        ("map", "--help"),
        ("mcp", "--help"),
        ("directory", "sync", "--help"),
        ("serve", "--help"),
        ("sync", "--help"),
        ("sources", "status", "--help"),
        ("cluster", "status", "--help"),
    ],
    ids=" ".join,
)
def test_help_imports_no_store_index_model_or_server(args: tuple[str, ...]) -> None:
    code, out, modules = cli(*args)
    assert code == 0 and "latentsearch" in out
    assert modules == []


def test_help_texts_written_out_agree_with_the_code() -> None:
    from latentsearch.cli.build_cmd import DEFAULT_BATCH
    from latentsearch.cli.eval_cmd import MODES
    from latentsearch.evaluation import retrievers
    from latentsearch.ingest import options

    assert DEFAULT_BATCH == options.DEFAULT_BATCH
    assert tuple(sorted(retrievers())) == MODES


DOCS = {
    "vpn.md": "# VPN\n\nThe VPN drops every few minutes on hotel Wi-Fi; reconnecting helps.",
    "printer.md": "# Printer\n\nThe third-floor printer jams when the paper tray is overfilled.",
    "payroll.txt": "Payroll runs on the 25th. Corrections after the 20th wait for next month.",
    "coffee.txt": "The coffee machine descales itself every Monday at seven.",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small folder of documents and an index built from it (the model loads once here)."""
    root = tmp_path_factory.mktemp("lazy")
    docs, index = root / "docs", root / "idx"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    code, out, modules = cli("build", docs, "--index", index, "--json")
    assert code == 0, out
    assert json.loads(out)["added"] == len(DOCS)
    assert set(modules) & set(MODEL)  # the first build embedded, so it loaded a model
    return docs, index


def test_a_rebuild_with_nothing_new_loads_no_model(built: tuple[Path, Path]) -> None:
    docs, index = built
    code, out, modules = cli("build", docs, "--index", index, "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["items_encoded"] == 0 and summary["unchanged"] == len(DOCS)
    assert not set(modules) & set(MODEL)


def _search(index: Path, query: str) -> tuple[list[dict[str, Any]], list[str]]:
    code, out, modules = cli("search", query, "--index", index, "-k", "4", "--json")
    assert code == 0, out
    return json.loads(out), modules


def test_a_query_searched_before_loads_no_model_and_answers_the_same(
    built: tuple[Path, Path],
) -> None:
    _, index = built
    query = "my VPN connection keeps dropping"
    first, loaded = _search(index, query)
    assert set(loaded) & set(MODEL)  # embedded by the model...
    again, cached = _search(index, query)
    assert not set(cached) & set(MODEL)  # ...and then read from the query-vector file
    assert again == first  # same ids, scores, order and everything else
    assert first[0]["document"] == "vpn.md"
    other, loaded = _search(index, "who fixes the printer")
    assert set(loaded) & set(MODEL) and other[0]["document"] == "printer.md"
    # Every stored vector is byte for byte what the collection's encoder gives for the text.
    import latentsearch as ls
    from latentsearch.encoders.deferred import plan_space_key
    from latentsearch.encoders.query_file import QueryVectorFile

    with ls.connect(index) as db:
        col = db.collection("default")
        ident = col.identity
        assert ident is not None
        key = plan_space_key(
            ident.spec, device=db.device, backend=db.encoder_backend, normalize=ident.normalize
        )
        for text in (query, "who fixes the printer"):
            stored = QueryVectorFile(index).get(key, text, col.dim)
            assert stored is not None
            fresh = col.encoder.encode_texts([text])[0]
            assert stored.tobytes() == np.ascontiguousarray(fresh, dtype=np.float32).tobytes()
            assert col.search(text, 4, per_document=True) == col.search(
                stored, 4, per_document=True
            )


def test_a_read_only_index_searches_without_writing_the_file(built: tuple[Path, Path]) -> None:
    """An index open read-only still answers from the file, and never adds to it."""
    import latentsearch as ls
    from latentsearch.cli.query_vectors import open_for_queries
    from latentsearch.encoders.query_file import FILE_NAME

    _, index = built
    with ls.connect(index) as db:
        stored = open_for_queries(db, "default").search("the coffee machine", 2)
    before = (index / FILE_NAME).read_bytes()
    with ls.connect(index, read_only=True) as db:
        col = open_for_queries(db, "default")
        assert col.search("the coffee machine", 2) == stored
        assert "payroll" in col.search("payroll corrections", 2)[0].id  # embedded, not stored
    assert (index / FILE_NAME).read_bytes() == before
