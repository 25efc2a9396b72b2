"""docs/query.md: its ```python examples run as written, in order, and print what they claim."""

from __future__ import annotations

import os
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "query.md"


def test_query_docs_examples_run(tmp_path, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 8
    os.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/query.md block {i}", "exec"), namespace)
    out = capsys.readouterr().out
    # every "# <output>" comment in the examples is what that line printed
    claims = [c.strip() for b in blocks for c in re.findall(r"print\(.*\)\s+# (.*)", b)]
    for claim in claims:
        assert claim in out, f"docs claim {claim!r} but the examples printed:\n{out}"
