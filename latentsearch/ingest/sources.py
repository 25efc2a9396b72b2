"""Find the files a build reads: files, folders (recursive) and glob patterns.

Each file gets a document id: its path relative to the folder (or the glob's fixed prefix) it was
found under, in POSIX form (``runbooks/vpn.md``); a file named directly gets its file name.
Hidden files and folders (names starting with ``.``) are skipped unless named directly.
Symbolic links are followed; a link that loops back is reported, never followed forever.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from latentsearch.checks import text_problem
from latentsearch.errors import InvalidInputError

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".jsonl": "records",
    ".ndjson": "records",
    ".json": "records",
    ".csv": "records",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
    ".gif": "image",
    ".bmp": "image",
}
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to read: where it is, its document id, its type and its stat."""

    path: Path  # absolute, as walked (symlinks not resolved)
    doc_id: str
    kind: str  # text | html | pdf | records | image
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class ScanProblem:
    """A path the build could not use. ``failed`` False means skipped by design (unsupported type)."""

    path: str
    reason: str
    failed: bool = True


class Filters:
    """``--include``/``--exclude`` globs. A pattern with ``/`` matches the relative path, one
    without matches any single path component (so ``--exclude drafts`` drops a whole folder)."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self.include = [p.strip("/") for p in include if p.strip("/")]
        self.exclude = [p.strip("/") for p in exclude if p.strip("/")]

    @staticmethod
    def _match(pattern: str, rel: str) -> bool:
        if "/" in pattern:
            return fnmatchcase(rel, pattern)
        return any(fnmatchcase(part, pattern) for part in rel.split("/"))

    def excluded(self, rel: str) -> bool:
        return any(self._match(p, rel) for p in self.exclude)

    def included(self, rel: str) -> bool:
        if not self.include:
            return True
        name = rel.rsplit("/", 1)[-1]
        return any(fnmatchcase(name, p) or ("/" in p and fnmatchcase(rel, p)) for p in self.include)


def check_sources(sources: Sequence[str]) -> None:
    """Fail fast, before any work, on a source that names nothing."""
    if not sources:
        raise InvalidInputError(
            "give at least one SOURCE: a file, a folder or a glob like 'docs/**/*.md'"
        )
    for src in sources:
        if _is_glob(src):
            if not glob.glob(os.path.expanduser(src), recursive=True):
                raise InvalidInputError(
                    f"no files match {src!r}; check the pattern (quote it so the shell keeps it)"
                )
        elif not os.path.lexists(os.path.expanduser(src)):
            raise InvalidInputError(
                f"source {src!r} does not exist; give an existing file or folder"
            )


def scan(sources: Sequence[str], filters: Filters) -> Iterator[SourceFile | ScanProblem]:
    """Every file under the sources, in a stable order, or the problem that stopped it."""
    seen: set[tuple[int, int]] = set()
    for src in sources:
        expanded = os.path.expanduser(src)
        if _is_glob(expanded):
            base = _glob_base(expanded)
            for match in sorted(glob.glob(expanded, recursive=True)):
                rel = (
                    Path(os.path.relpath(match, base)).as_posix()
                    if base
                    else Path(match).as_posix()
                )
                yield from _entry(Path(match), rel, filters, seen, [], named=False)
        else:
            path = Path(expanded)
            if path.is_dir():
                yield from _walk(path, "", filters, seen, [])
            else:
                yield from _entry(path, path.name, filters, seen, [], named=True)


def _is_glob(src: str) -> bool:
    return any(c in _GLOB_CHARS for c in src)


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if _is_glob(p))]]
    return str(Path(*fixed)) if fixed else ""


def _entry(
    path: Path,
    rel: str,
    filters: Filters,
    seen: set[tuple[int, int]],
    stack: list[tuple[int, int]],
    *,
    named: bool,
) -> Iterator[SourceFile | ScanProblem]:
    if not named and (_hidden(rel) or filters.excluded(rel)):
        return
    if text_problem(str(path)) is not None:
        # Not valid UTF-8 (os.fsdecode's surrogate escapes): such a name could be neither stored
        # nor shown, so the file fails with its name made printable.
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        yield ScanProblem(shown, "its name is not valid UTF-8; rename it to index it")
        return
    try:
        st = path.stat()
    except OSError as exc:
        yield ScanProblem(str(path), _os_reason(exc, path))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(path, rel, filters, seen, stack)
        return
    if not stat.S_ISREG(st.st_mode):
        yield ScanProblem(str(path), "not a regular file", failed=False)
        return
    if not filters.included(rel):
        return
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        yield ScanProblem(
            str(path), f"unsupported file type {path.suffix or '(no extension)'!r}", failed=False
        )
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:  # the same file reached again through a link
        log.debug("skipping %s: already indexed under another path", path)
        return
    seen.add(key)
    yield SourceFile(Path(os.path.abspath(path)), rel, kind, st.st_size, st.st_mtime_ns)


def _walk(
    folder: Path,
    rel: str,
    filters: Filters,
    seen: set[tuple[int, int]],
    stack: list[tuple[int, int]],
) -> Iterator[SourceFile | ScanProblem]:
    try:
        st = folder.stat()
        key = (st.st_dev, st.st_ino)
        if key in stack:
            yield ScanProblem(
                str(folder), "symlink loop: this folder links back to one of its parents"
            )
            return
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield ScanProblem(str(folder), _os_reason(exc, folder))
        return
    stack.append(key)
    try:
        for e in entries:
            child_rel = f"{rel}/{e.name}" if rel else e.name
            yield from _entry(Path(e.path), child_rel, filters, seen, stack, named=False)
    finally:
        stack.pop()


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def _os_reason(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: the link points back to itself"
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"broken symlink: its target {os.readlink(path)!r} does not exist"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"
