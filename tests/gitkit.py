"""Real git repositories for connector tests: `git init` in a temporary folder, commits by the
git CLI (no mocks), and helpers that collect what a connector yields."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from latentsearch.connectors.base import Change, Checkpoint, Deleted, Failed, Record

_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A work tree under ``root`` with a ``main`` branch."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=self.root, env=_ENV, capture_output=True, text=True, check=True
        )
        return out.stdout

    def write(self, path: str, text: str) -> None:
        f = self.root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")

    def move(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def blob(self, path: str, rev: str = "HEAD") -> str:
        return self.git("rev-parse", f"{rev}:{path}").strip()


class Run:
    """What one `changes` call yielded, sorted out."""

    def __init__(self, changes: Iterable[Change]) -> None:
        self.all = list(changes)
        self.records = {c.id: c for c in self.all if isinstance(c, Record)}
        self.deleted = {c.id for c in self.all if isinstance(c, Deleted)}
        self.failed = {c.id: c.reason for c in self.all if isinstance(c, Failed)}
        cps = [c for c in self.all if isinstance(c, Checkpoint)]
        assert cps and self.all[-1] == cps[-1], "a run must end with a checkpoint"
        self.checkpoints = [c.cursor for c in cps]
        self.cursor = cps[-1].cursor
