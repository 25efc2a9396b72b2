"""A git repository read through the git command line (plumbing commands only).

Why the CLI and not a library: git is on every machine that has repositories, its plumbing
output (``ls-tree -z``, ``diff-tree --raw -z``, ``cat-file --batch``) is a stable, documented
interface, and it brings the user's own transport, credential helpers and SSH setup for remote
repositories. GitPython shells out to the same CLI anyway, and pygit2 needs libgit2 (a binary
wheel, and no credential helpers). One ``cat-file --batch`` process streams every blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from latentsearch.errors import ConnectorError, SourceConfigError

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")  # https://, file://, git@host:
_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


class GitError(ConnectorError):
    """A git command failed (no repository there, unknown branch, unreachable remote)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A file at a commit: its path, blob id and mode."""

    path: str
    blob: str
    mode: str


@dataclass(frozen=True, slots=True)
class Change:
    """One line of ``git diff-tree --raw -M``: ``status`` is A, M, D, T or R (rename)."""

    status: str
    path: str
    blob: str
    mode: str
    old_path: str | None = None


class Repo:
    """A repository: a local path (work tree or bare), or a URL mirrored into ``cache``."""

    def __init__(self, location: str, cache: Path | None = None) -> None:
        self.location = location
        if _URL.match(location):
            key = hashlib.sha256(location.encode()).hexdigest()[:16]
            root = cache or Path.home() / ".cache" / "latentsearch" / "git"
            self.git_dir = root / f"{key}.git"
            self.remote = True
        else:
            path = Path(location).expanduser()
            if not path.exists():
                raise SourceConfigError(
                    f"git repository {location!r} does not exist; give its path or URL"
                )
            self.git_dir = Path(self._run_at(path, "rev-parse", "--absolute-git-dir").strip())
            self.remote = False

    def _run_at(self, cwd: Path, *args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env={**os.environ, **_ENV},
                capture_output=True,
                check=True,
                timeout=600,
            )
        except FileNotFoundError as exc:
            raise GitError("the git command is not installed (apt-get install git)") from exc
        except subprocess.CalledProcessError as exc:
            msg = exc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"git {args[0]} failed for {self.location!r}: {msg[-1] if msg else exc}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out for {self.location!r}") from exc
        return out.stdout.decode("utf-8", "surrogateescape")

    def run(self, *args: str) -> str:
        return self._run_at(self.git_dir, "--git-dir", str(self.git_dir), *args)

    def update(self) -> None:
        """Bring a mirrored remote up to date (clone it the first time); nothing for a path."""
        if not self.remote:
            return
        if not (self.git_dir / "HEAD").exists():
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            self._run_at(
                self.git_dir.parent,
                "clone",
                "--mirror",
                "--quiet",
                self.location,
                str(self.git_dir),
            )
        else:
            self.run("fetch", "--prune", "--quiet", "origin")

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names (a branch, tag, ``HEAD`` or an id)."""
        if ref.startswith("-"):
            raise GitError(f"ref {ref!r} is not a branch, tag or commit")
        return self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        ).strip()

    def has_commit(self, commit: str) -> bool:
        try:
            self.run("cat-file", "-e", f"{commit}^{{commit}}")
        except GitError:
            return False
        return True

    def blob_at(self, commit: str, path: str) -> str | None:
        """The blob id of ``path`` at ``commit``, None when there is no such file."""
        out = self.run("ls-tree", "-z", "--full-tree", commit, "--", path)
        meta = out.split("\t", 1)[0].split(" ")
        return meta[2] if len(meta) == 3 and meta[1] == "blob" else None

    def files(self, commit: str) -> list[Entry]:
        """Every blob at ``commit`` (submodules are skipped: they are other repositories)."""
        out: list[Entry] = []
        for rec in self.run("ls-tree", "-r", "-z", "--full-tree", commit).split("\0"):
            if not rec:
                continue
            meta, path = rec.split("\t", 1)
            mode, kind, blob = meta.split(" ")
            if kind == "blob":
                out.append(Entry(path, blob, mode))
        return out

    def diff(self, old: str, new: str) -> list[Change]:
        """What changed from ``old`` to ``new``, renames detected (``-M``, git's 50% rule)."""
        raw = self.run("diff-tree", "-r", "-z", "--raw", "--no-commit-id", "-M", old, new)
        fields = raw.split("\0")
        out: list[Change] = []
        i = 0
        while i < len(fields) - 1:
            meta = fields[i].lstrip(":").split(" ")
            _old_mode, new_mode, _old_blob, new_blob, status = meta
            if status[0] in "RC":
                old_path, path = fields[i + 1], fields[i + 2]
                i += 3
                if status[0] == "C":  # a copy: the source stays
                    out.append(Change("A", path, new_blob, new_mode))
                    continue
                out.append(Change("R", path, new_blob, new_mode, old_path))
            else:
                path = fields[i + 1]
                i += 2
                out.append(Change(status[0], path, new_blob, new_mode))
        return out

    def blobs(self) -> BlobReader:
        return BlobReader(self)


class BlobReader:
    """Reads blobs by id through one ``git cat-file --batch`` process."""

    def __init__(self, repo: Repo) -> None:
        self._proc = subprocess.Popen(
            ["git", "--git-dir", str(repo.git_dir), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **_ENV},
        )

    def read(self, blob: str) -> bytes:
        stdin: IO[bytes] = self._proc.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        stdin.write(blob.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"blob {blob} is missing from the repository")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
