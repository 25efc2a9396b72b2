"""Build options, and the hashes that decide what a build must read again."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from latentsearch.ingest.record_files import FieldMap

if TYPE_CHECKING:
    from latentsearch import Collection

LOADER_VERSION = 1  # bump when loaders change what they extract, so files are read again
DEFAULT_MAX_FILE_SIZE = 64 << 20


DEFAULT_BATCH = 512


@dataclass(slots=True)
class BuildOptions:
    """Everything `build` takes besides the collection (see ``latentsearch build --help``)."""

    sources: Sequence[str]
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    chunk_size: int | None = None  # None: the encoder's maximum input length
    chunk_overlap: int | None = None  # None: an eighth of the chunk size
    acl: list[str] | None = None
    prune: bool = False
    force: bool = False
    fields: FieldMap = field(default_factory=FieldMap)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Items embedded and written per batch. sentence-transformers sorts each call's texts by
    # length before cutting forward passes, so bigger calls pad less: on Cranfield, 128 items
    # per call run 1.20x the real tokens, 512 run 1.07x (and a crash re-embeds at most one batch).
    batch_size: int = DEFAULT_BATCH


def settings_hash(col: Collection, opt: BuildOptions) -> str:
    """Hash of the options that shape items: when it changes, every file is read again.

    Default chunk sizes follow from the model, which the fingerprint pins down.
    """
    blob = json.dumps(
        {
            "loader": LOADER_VERSION,
            "encoder": col.identity.fingerprint if col.identity else None,
            "chunk": [opt.chunk_size, opt.chunk_overlap],
            "fields": opt.fields.key(),
            "acl": sorted(opt.acl) if opt.acl is not None else None,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def source_root(src: str) -> str:
    """The folder a source covers: the path itself, or a glob's fixed leading part."""
    src = os.path.expanduser(src)
    parts = Path(src).parts
    for i, p in enumerate(parts):
        if any(c in p for c in "*?["):
            return os.path.abspath(str(Path(*parts[:i])) if i else ".")
    return os.path.abspath(src)


def is_under(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or inside it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
