"""The code blocks of README.md and of every docs/*.md page run as written.

The conventions (docs/development.md, "Docs", says the same for writers):

- A page's ```python blocks run in one namespace, and its ```bash blocks with
  ``bash -euo pipefail``, all in page order, in a fresh folder that holds a link to the
  repository's ``samples/``. ``latentsearch`` and ``python`` are this checkout's.
- ``print(...)  # CLAIM`` in a python block: CLAIM is in what the page printed (``...`` in a
  claim stands for anything).
- A block right after the line ``<!-- skip: REASON -->`` is shown, not run. REASON is required:
  only blocks that cannot run here (weights this machine cannot download, a corpus that takes
  minutes to embed, a placeholder path of yours) are skipped.
- Other fences (text, json, ebnf...) are output or data, never run. ``py``, ``sh``, ``shell``
  and ``console`` are refused, so that no block escapes the tests by its fence alone.
- In bash blocks, port 8080 (``--port 8080``, ``127.0.0.1:8080``) becomes a free port, so a
  docs test never meets a server of yours.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
RUN = ("python", "bash")
SHOWN = ("text", "json", "ebnf", "toml", "")
REFUSED = ("py", "sh", "shell", "console", "pycon")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!-- skip: (.+?) -->\s*$")
CLAIM = re.compile(r"print\(.*\)\s+# (.+)")
BASH_TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    skip: str | None  # the reason, for a block that is shown but not run

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        found.append(
            Block(
                page.relative_to(ROOT).as_posix(),
                text.count("\n", 0, match.start()) + 1,
                match.group(1),
                match.group(2),
                skip.group(1).strip() if skip else None,
            )
        )
    return found


def runnable(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang in RUN and b.skip is None]


def claims(code: str) -> list[str]:
    return [c.strip() for c in CLAIM.findall(code)]


def claim_found(claim: str, output: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in claim.split("..."))
    return re.search(pattern, output, flags=re.S) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_env(folder: Path) -> dict[str, str]:
    """``latentsearch`` and ``python`` of this checkout first on PATH."""
    bin_dir = folder / ".docs-bin"
    bin_dir.mkdir()
    # scripts, not links: a venv's python finds its packages only when called by its own path
    for name, run in (("latentsearch", "-m latentsearch "), ("python", "")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" {run}"$@"\n')
        script.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="120")
    return env


def test_pages_follow_the_conventions() -> None:
    """Every fence is runnable, shown output or data, and every skip says why."""
    for page in PAGES:
        for block in blocks(page):
            assert block.lang not in REFUSED, (
                f"{block.where}: ```{block.lang} is not run by the tests; write ```python or "
                "```bash, and put <!-- skip: REASON --> before it if it cannot run here"
            )
            assert block.lang in RUN + SHOWN, f"{block.where}: unknown fence ```{block.lang}"
            assert block.skip is None or block.lang in RUN, f"{block.where}: skip on a shown block"


def test_readme_is_a_front_door() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 160
    langs = [b.lang for b in runnable(README)]
    assert langs.count("python") >= 1 and langs.count("bash") >= 2  # Python, CLI and server


# Pages with nothing runnable (generated references, figures) are not parametrized: a skip
# would hide nothing and still read as one.
RUNNABLE = [p for p in PAGES if runnable(p)]


def test_pages_with_examples_are_run() -> None:
    assert README in RUNNABLE and len(RUNNABLE) >= 5, [p.name for p in RUNNABLE]


@pytest.mark.parametrize("page", RUNNABLE, ids=[p.name for p in RUNNABLE])
def test_page_examples_run(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pg_admin: object,
) -> None:
    todo = runnable(page)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    env = shell_env(tmp_path)
    port = str(free_port())
    namespace: dict[str, object] = {"__name__": "__docs__"}
    printed: list[str] = []
    for block in todo:
        if block.lang == "python":
            try:
                exec(compile(block.code, block.where, "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the failure message is the point
                pytest.fail(f"{block.where}: python block failed: {exc!r}\n{block.code}")
            continue
        code = re.sub(r"(127\.0\.0\.1:|--port )8080\b", rf"\g<1>{port}", block.code)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=BASH_TIMEOUT,
        )
        printed.append(done.stdout)
        assert done.returncode == 0, (
            f"{block.where}: bash block exited {done.returncode}\n{block.code}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    output = capsys.readouterr().out + "".join(printed)
    for block in todo:
        for claim in claims(block.code):
            assert claim_found(claim, output), (
                f"{block.where} claims {claim!r}, but the page printed:\n{output[-6000:]}"
            )
