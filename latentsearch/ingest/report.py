"""What a build reports: progress events while it runs, and a summary at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

MAX_LISTED = 1000  # failures and skips listed one by one; beyond this they are only counted


class Reporter(Protocol):
    """Progress events. The CLI draws a rich progress bar from them; the default does nothing."""

    def scanned(self, files: int) -> None: ...
    def start(self, files: int, total_bytes: int) -> None: ...
    def file(self, name: str) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def encoded(self, items: int) -> None: ...


class NullReporter:
    def scanned(self, files: int) -> None:
        pass

    def start(self, files: int, total_bytes: int) -> None:
        pass

    def file(self, name: str) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def encoded(self, items: int) -> None:
        pass


@dataclass(slots=True)
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0


@dataclass(slots=True)
class FileCounts(Counts):
    scanned: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """A file or record that was not indexed, and why."""

    path: str
    reason: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.path}{': ' + self.where if self.where else ''}: {self.reason}"


@dataclass(slots=True)
class BuildSummary:
    """The outcome of a build. Document counts are top level; file counts under ``files``."""

    collection: str
    documents: Counts = field(default_factory=Counts)
    files: FileCounts = field(default_factory=FileCounts)
    items_encoded: int = 0
    items_written: int = 0
    elapsed_s: float = 0.0
    gone: int = 0  # files missing from the sources, left in the index (no --prune)
    interrupted: bool = False
    failures: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)

    def fail(self, problem: Problem, *, file: bool) -> None:
        if file:
            self.files.failed += 1
        else:
            self.documents.failed += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append(problem)

    def skip(self, problem: Problem) -> None:
        self.files.skipped += 1
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(problem)

    @property
    def failed(self) -> int:
        return self.files.failed + self.documents.failed

    @property
    def indexed(self) -> int:
        """Documents present and current after this build."""
        d = self.documents
        return d.added + d.updated + d.unchanged

    def to_dict(self) -> dict[str, Any]:
        d = self.documents
        return {
            "collection": self.collection,
            "added": d.added,
            "updated": d.updated,
            "unchanged": d.unchanged,
            "removed": d.removed,
            "failed": self.failed,
            "files": asdict(self.files),
            "documents": asdict(d),
            "items_encoded": self.items_encoded,
            "items_written": self.items_written,
            "elapsed_s": round(self.elapsed_s, 3),
            "gone": self.gone,
            "interrupted": self.interrupted,
            "failures": [asdict(p) for p in self.failures],
            "skipped": [asdict(p) for p in self.skipped],
        }
