"""The query language page (docs/query.md) keeps its worked examples.

test_readme.py runs every page's blocks in order and checks each ``print(...)  # output``
claim; this checks that the query page still shows the language by example, and says what
each example prints."""

from __future__ import annotations

from pathlib import Path

from test_readme import blocks, claims, runnable

QUERY = Path(__file__).resolve().parents[2] / "docs" / "query.md"


def test_query_page_runs_its_examples() -> None:
    python = [b for b in runnable(QUERY) if b.lang == "python"]
    assert len(python) >= 8
    assert sum(len(claims(b.code)) for b in python) >= 10
    code = "\n".join(b.code for b in python)
    for call in (
        "where=",
        "principals=",
        "mode=",
        ".analogy(",
        ".query(",
        ".recommend(",
        ".interpolate(",
        ".direction(",
        ".centroid(",
        "FilterError",
        "ExpressionError",
    ):
        assert call in code, f"docs/query.md has no running example of {call}"


def test_query_page_skips_only_what_cannot_run() -> None:
    reasons = [b.skip for b in blocks(QUERY) if b.skip]
    assert len(reasons) <= 1 and all("tiny CLIP" in reason for reason in reasons)
