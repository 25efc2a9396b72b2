"""Permissions from a per-path rule: CODEOWNERS-style patterns mapped to principals.

A rule is a list of ``(pattern, principals)``; for a path, the **last** matching pattern wins,
as in a CODEOWNERS file. Patterns follow CODEOWNERS (gitignore syntax without ``!``):
``*`` every file, ``*.md`` any Markdown file, ``docs/finance/**`` or ``/docs/finance/``
everything under that root folder, ``apps/`` any ``apps`` folder, ``docs/*`` the files directly
in ``docs`` (not in its subfolders). A path that no pattern matches gets ``None`` (the target
collection's default ACL); a pattern with an empty principal list makes its paths readable by
no one (the connector then deletes them from the index).

Matching is pathspec's ``gitignore`` patterns (the implementation that black, mypy and many
tools use, matching git's own behaviour, where ``docs/*`` does not reach into subfolders)
rather than a hand-written glob.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pathspec

from latentsearch.checks import text_problem
from latentsearch.errors import SourceConfigError


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: str
    principals: tuple[str, ...]
    spec: pathspec.PathSpec[Any]

    def matches(self, path: str) -> bool:
        return self.spec.match_file(path)


def _compile(pattern: str, principals: Sequence[str], where: str) -> _Rule:
    pat = pattern.strip()
    if not pat or pat.startswith("!"):
        raise SourceConfigError(
            f"{where}: pattern {pattern!r} is not usable; give a CODEOWNERS pattern such as "
            "'docs/**' or '*.md' (negation with '!' is not supported)"
        )
    for p in principals:
        if not isinstance(p, str) or not p or text_problem(p):
            raise SourceConfigError(
                f"{where}: principal {p!r} of pattern {pattern!r} must be a non-empty string "
                "like 'group:finance', 'user:alice' or '*'"
            )
    try:
        spec = pathspec.PathSpec.from_lines("gitignore", [pat])
    except ValueError as exc:  # pathspec's GitIgnorePatternError is a ValueError
        raise SourceConfigError(f"{where}: pattern {pattern!r} is invalid: {exc}") from exc
    return _Rule(pat, tuple(principals), spec)


class PathRules:
    """CODEOWNERS-style rules: ``principals(path)`` is the last matching rule's principals."""

    def __init__(self, rules: Sequence[tuple[str, Sequence[str]]], where: str = "owners") -> None:
        self._rules = [_compile(pat, list(pr), where) for pat, pr in rules]

    @classmethod
    def from_mapping(cls, owners: Mapping[str, object], where: str = "owners") -> PathRules:
        """From a TOML table ``{pattern = [principals]}``, in the table's order."""
        rules: list[tuple[str, Sequence[str]]] = []
        for pat, principals in owners.items():
            if isinstance(principals, str):
                principals = [principals]
            if not isinstance(principals, list):
                raise SourceConfigError(
                    f"{where}: {pat!r} must map to a list of principals, e.g. "
                    f'{{"{pat}" = ["group:finance"]}}'
                )
            rules.append((pat, principals))
        return cls(rules, where)

    def __add__(self, other: PathRules) -> PathRules:
        out = PathRules([])
        out._rules = [*self._rules, *other._rules]
        return out

    def __bool__(self) -> bool:
        return bool(self._rules)

    def principals(self, path: str) -> list[str] | None:
        """The principals that may read ``path`` (POSIX, relative to the root), None if no rule
        matches."""
        for rule in reversed(self._rules):
            if rule.matches(path):
                return sorted(set(rule.principals))
        return None

    def fingerprint(self) -> str:
        """Changes whenever the rules do (stored in the cursor to notice a rule change)."""
        blob = json.dumps([[r.pattern, list(r.principals)] for r in self._rules])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def owner_principal(owner: str, teams: Mapping[str, str]) -> str | None:
    """A CODEOWNERS owner as a principal: the ``teams`` map first, then ``@org/team`` ->
    ``group:team``, ``@name`` -> ``user:name``, ``name@example.com`` -> ``user:name@example.com``."""
    if owner in teams:
        return teams[owner]
    if owner.startswith("@"):
        name = owner[1:]
        if "/" in name:
            return "group:" + name.split("/", 1)[1]
        return "user:" + name if name else None
    if "@" in owner:
        return "user:" + owner
    return None


def parse_codeowners(text: str, teams: Mapping[str, str]) -> PathRules:
    """A CODEOWNERS file's rules, each owner mapped with `owner_principal`. A line with no
    (mappable) owner gives its paths no principals, as in GitHub: nobody owns them."""
    rules: list[tuple[str, Sequence[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0]  # a trailing comment
        pattern, *owners = line.replace("\\#", "#").split()
        if pattern.startswith("!") or pattern.startswith("["):
            continue  # not valid in CODEOWNERS either: GitHub ignores such lines
        mapped = [p for p in (owner_principal(o, teams) for o in owners) if p]
        rules.append((pattern, mapped))
    return PathRules(rules, "CODEOWNERS")
