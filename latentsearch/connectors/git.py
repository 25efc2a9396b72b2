"""The ``git`` connector: the files of one branch of a git repository, incremental by commit diff.

Settings (the source's table in sources.toml)::

    repo = "/srv/git/runbooks"            # a path (work tree or bare) or a URL (mirrored)
    branch = "main"                       # default HEAD
    include = ["docs/**", "*.md"]         # gitignore-style patterns; default every file
    exclude = ["drafts/"]
    owners = {"*" = ["*"], "docs/finance/**" = ["group:finance"]}   # last match wins
    codeowners = ".github/CODEOWNERS"     # or true: CODEOWNERS, .github/ or docs/
    teams = {"@acme/finance" = "group:finance"}                     # CODEOWNERS owner -> principal
    uri = "https://git.example.com/runbooks/blob/{commit}/{path}#L{start}-L{end}"

The cursor is the last indexed commit (with a fingerprint of the rules). The next run reads
``git diff-tree -M`` from it: added and modified files are records, deleted ones `Deleted`, a
renamed one is the old id deleted and the new one added. When the rules change (the settings,
or the CODEOWNERS file in the repository) every file is listed again: the runner re-indexes
only those whose version (blob id plus principals) changed, and files that lost every
principal are deleted. A record's uri and metadata point at the path, the commit and the lines.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

from latentsearch.connectors.base import Change, Checkpoint, Connector, Deleted, Failed, Record
from latentsearch.connectors.gitrepo import Entry, GitError, Repo
from latentsearch.connectors.jsoncursor import read_cursor
from latentsearch.connectors.pathrules import PathRules, parse_codeowners
from latentsearch.errors import SourceConfigError
from latentsearch.ingest.sources import KINDS

_CODEOWNERS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")
_DEFAULT_KINDS = ("text", "html", "pdf")
_URI = "{repo}/{path}@{commit}#L{start}-L{end}"
_REGULAR = ("100644", "100755")  # symlinks (120000) and submodules (160000) are not files


def _strings(settings: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = settings.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceConfigError(f"git source setting {key!r} must be a list of strings")
    return value


@dataclass(frozen=True, slots=True)
class _Run:
    """One plan: from ``old`` (the cursor's commit, in it as ``commit``) to ``new`` (``target``)."""

    old: str | None
    new: str
    full: bool
    fp: str

    def where(self) -> dict[str, Any]:
        return {"commit": self.old, "target": self.new, "full": self.full}


class Selection:
    """Which paths are records: a loader suffix, matched by ``include``, not by ``exclude``."""

    def __init__(self, include: list[str], exclude: list[str], suffixes: list[str]) -> None:
        self.spec = [include, exclude, suffixes]  # kept in the cursor for the next run
        self.suffixes = {x.lower() if x.startswith(".") else "." + x.lower() for x in suffixes}
        self.include = pathspec.PathSpec.from_lines("gitignore", include)
        self.exclude = pathspec.PathSpec.from_lines("gitignore", exclude)

    def __call__(self, path: str) -> bool:
        return (
            posixpath.splitext(path)[1].lower() in self.suffixes
            and self.include.match_file(path)
            and not self.exclude.match_file(path)
        )


def _lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


class GitConnector(Connector):
    type = "git"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        s = self.settings
        if not isinstance(s.get("repo"), str) or not s["repo"]:
            raise SourceConfigError(
                f"git source {name!r} needs repo = a path or URL of the repository"
            )
        cache = s.get("cache_dir")
        self.repo = Repo(s["repo"], Path(cache).expanduser() if cache else None)
        self.branch = str(s.get("branch", "HEAD"))
        self.label = str(
            s.get("repo_name") or Path(s["repo"].rstrip("/")).name.removesuffix(".git")
        )
        self.uri = str(s.get("uri", _URI))
        try:
            self.uri.format(repo="r", path="p", commit="c", start=1, end=2)
        except (KeyError, IndexError, ValueError) as exc:
            raise SourceConfigError(
                f"git source {name!r}: uri template {self.uri!r} is not usable ({exc!r}); it may "
                "use {repo}, {path}, {commit}, {start} and {end}"
            ) from exc
        self.max_bytes = int(s.get("max_bytes", 20 << 20))
        self.every = max(1, int(s.get("checkpoint_every", 200)))
        suffixes = _strings(s, "suffixes", [k for k, v in KINDS.items() if v in _DEFAULT_KINDS])
        include, exclude = _strings(s, "include", ["*"]), _strings(s, "exclude", [])
        self.selected = Selection(include, exclude, suffixes)
        owners = s.get("owners", {})
        if not isinstance(owners, Mapping):
            raise SourceConfigError("git source setting owners must be a table {pattern = [...]}")
        self.owners = PathRules.from_mapping(owners, f"git source {name!r} owners")
        teams = s.get("teams", {})
        if not isinstance(teams, Mapping):
            raise SourceConfigError(
                'git source setting teams must be a table {"@org/team" = "group:x"}'
            )
        self.teams = {str(k): str(v) for k, v in teams.items()}
        self._keys: list[str] | None = None

    # -- what the rules say -------------------------------------------------------------
    def rules(self, commit: str) -> tuple[PathRules, str]:
        """The path rules at ``commit`` (the CODEOWNERS file there, then ``owners``) and a
        fingerprint of everything that decides which files are records and what they hold."""
        rules, codeowners = self.owners, ""
        setting = self.settings.get("codeowners")
        if setting:
            names = _CODEOWNERS if setting is True else (str(setting).strip("/"),)
            blob = next((b for b in (self.repo.blob_at(commit, n) for n in names) if b), None)
            if blob is not None:
                with self.repo.blobs() as blobs:
                    text = blobs.read(blob).decode("utf-8", "replace")
                rules = parse_codeowners(text, self.teams) + self.owners
                codeowners = blob
        keys = ("include", "exclude", "suffixes", "uri", "repo_name", "teams")
        fp = json.dumps(
            [rules.fingerprint(), codeowners, [self.settings.get(k) for k in keys]], default=str
        )
        return rules, hashlib.sha256(fp.encode()).hexdigest()[:16]

    # -- the plan of one run: path -> blob entry (a record) or None (deleted) ------------------
    def plan(
        self, old: str | None, new: str, full: bool, before: Selection
    ) -> dict[str, Entry | None]:
        """What to do per path: its entry at ``new`` (a record) or None (deleted). ``before``
        is the selection of the run that indexed ``old``."""
        out: dict[str, Entry | None] = {}
        if not full and old is not None:
            for c in self.repo.diff(old, new):
                if c.old_path is not None and self.selected(c.old_path):
                    out[c.old_path] = None
                if self.selected(c.path):
                    keep = c.status != "D" and c.mode in _REGULAR
                    out[c.path] = Entry(c.path, c.blob, c.mode) if keep else None
            return out
        if old is not None:  # everything the old commit had goes, unless it is still there
            out = {e.path: None for e in self.repo.files(old) if before(e.path)}
        for e in self.repo.files(new):
            if e.mode in _REGULAR and self.selected(e.path):
                out[e.path] = e
        return out

    def changes(self, cursor: str | None) -> Iterator[Change]:
        state = read_cursor(cursor, "commit", "git")
        self.repo.update()
        try:
            head = self.repo.resolve(self.branch)
        except GitError as exc:
            raise GitError(f"git source {self.name!r}: no branch {self.branch!r}: {exc}") from exc
        rules, fp = self.rules(head)
        old = state.get("commit")
        known = old is not None and self.repo.has_commit(old)
        before = Selection(*state["select"]) if "select" in state else self.selected
        self._keys = None
        target = state.get("target")
        if state.get("rules") == fp and target and self.repo.has_commit(target):
            # resume a run killed part-way: finish old -> target first, then go on to head
            run = _Run(old if known else None, target, bool(state.get("full")) or not known, fp)
            yield from self._emit(run, rules, before, state.get("after"))
            old, known, before = target, True, self.selected
        if old == head and state.get("rules") == fp:
            yield Checkpoint(json.dumps({"commit": head, "rules": fp, "select": before.spec}))
            return
        if old is not None and not known:
            old = None  # history was rewritten: list everything, and `keys` finds the deletions
            self._keys = []
        run = _Run(old, head, state.get("rules") != fp or not known, fp)
        yield from self._emit(run, rules, before, None)

    def _emit(
        self, run: _Run, rules: PathRules, before: Selection, after: str | None
    ) -> Iterator[Change]:
        plan = self.plan(run.old, run.new, run.full, before)
        done = 0
        with self.repo.blobs() as blobs:
            for path in sorted(plan):
                if after is not None and path <= after:
                    continue
                entry = plan[path]
                if entry is None:
                    yield Deleted(path)
                else:
                    yield self._record(entry, run.new, rules, blobs)
                    if self._keys is not None:
                        self._keys.append(path)
                done += 1
                if done % self.every == 0:  # resumable: the same plan, after this path
                    here = {**run.where(), "rules": run.fp, "select": before.spec, "after": path}
                    yield Checkpoint(json.dumps(here))
        end = {"commit": run.new, "rules": run.fp, "select": self.selected.spec}
        yield Checkpoint(json.dumps(end))

    def _record(self, e: Entry, commit: str, rules: PathRules, blobs: Any) -> Change:
        acl = rules.principals(e.path)
        if acl == []:
            return Deleted(e.path)  # no principal may read it: it leaves the index
        try:
            data: bytes = blobs.read(e.blob)
        except GitError as exc:
            return Failed(e.path, str(exc))
        if len(data) > self.max_bytes:
            return Failed(e.path, f"too large: {len(data)} bytes (max_bytes is {self.max_bytes})")
        # plain text is loaded as it is, so lines (and the chunks' lines) are exact
        verbatim = KINDS.get(posixpath.splitext(e.path)[1].lower()) == "text"
        lines = [1, max(1, _lines(data))] if verbatim else None
        fields = {"repo": self.label, "path": e.path, "commit": commit}
        start, end = lines or (1, 1)
        uri = self.uri.format(**fields, start=start, end=end)
        if lines is None:
            uri = uri.split("#L", 1)[0]
        meta: dict[str, Any] = {**fields, "blob": e.blob}
        if lines is not None:
            meta["lines"] = lines
        tag = hashlib.sha256(json.dumps([acl, self.uri, self.label]).encode()).hexdigest()[:12]
        return Record(
            id=e.path,
            version=f"{e.blob}:{tag}",
            content=data,
            filename=posixpath.basename(e.path),
            uri=uri,
            metadata=meta,
            acl=acl,
        )

    def keys(self) -> Iterable[str] | None:
        """Only after a run that found its old commit gone (a force-push): the files it listed,
        so that the runner deletes the rest. Otherwise the diff reported every deletion."""
        return list(self._keys) if self._keys is not None else None
