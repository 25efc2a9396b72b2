"""The README's Python API examples run as written (``` py blocks are illustrative only).

The query section's examples are run by test_docs_query.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text()
    api = text.split("<!-- sections: python-api -->")[1].split("<!-- sections: end-python-api -->")[
        0
    ]
    return re.findall(r"```python\n(.*?)```", api, flags=re.S)


def test_readme_has_examples() -> None:
    assert len(python_blocks()) >= 5


def test_readme_examples_run(tmp_path, pg_admin, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # restored after the test
    namespace: dict[str, object] = {}
    for i, block in enumerate(python_blocks()):
        try:
            exec(compile(block, f"README block {i}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"README python block {i} failed: {exc!r}\n{block}")
    out = capsys.readouterr().out
    assert "ticket-1" in out and "{'n': 1}" in out
