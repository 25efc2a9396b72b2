"""README, query section: its ```python examples run as written, in order, and print what they claim."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(name: str) -> str:
    text = README.read_text()
    return text.split(f"<!-- sections: {name} -->")[1].split(f"<!-- sections: end-{name} -->")[0]


def test_query_docs_examples_run(tmp_path, capsys, monkeypatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", section("query"), flags=re.S)
    assert len(blocks) >= 8
    monkeypatch.chdir(tmp_path)  # restored after the test
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README query block {i}", "exec"), namespace)
    out = capsys.readouterr().out
    # every "# <output>" comment in the examples is what that line printed
    claims = [c.strip() for b in blocks for c in re.findall(r"print\(.*\)\s+# (.*)", b)]
    for claim in claims:
        assert claim in out, f"docs claim {claim!r} but the examples printed:\n{out}"
