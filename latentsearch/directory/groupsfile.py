"""A groups file for small teams, read into a `Snapshot`.

CSV: one ``user,group`` row per membership (a header row ``user,group`` and ``#`` comments are
skipped). JSON: ``{"group": ["member", ...]}``. Either way a member written ``group:NAME`` is a
nested group, and every other member is a user (``user:NAME`` is accepted too). The users of the
file are the users it names; a user removed from the file is deleted from the directory at the
next sync, and its directory keys are refused from then on.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

from latentsearch.directory.model import DirectoryGroup, DirectoryUser, Snapshot
from latentsearch.errors import InvalidInputError

MAX_BYTES = 64 << 20  # a groups file is for small teams; a directory this big belongs in LDAP


def read_groups_file(path: Path) -> Snapshot:
    """The users and groups of a ``.csv`` or ``.json`` groups file (`InvalidInputError` when it
    cannot be read as one, naming the line or group)."""
    where = f"groups file {path}"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InvalidInputError(
                f"{where} is over {MAX_BYTES >> 20} MiB; sync from LDAP instead"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{where} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{where} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InvalidInputError(f"{where} cannot be read: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        pairs = _json_pairs(text, where)
    elif suffix in (".csv", ".txt"):
        pairs = _csv_pairs(text, where)
    else:
        raise InvalidInputError(
            f"{where}: name a .csv (user,group rows) or .json ({{group: [members]}}) file"
        )
    return snapshot_from_pairs(pairs, where)


def snapshot_from_pairs(pairs: list[tuple[str, str]], where: str) -> Snapshot:
    """``(member, group)`` pairs (``group:NAME`` members nest groups) as a checked `Snapshot`."""
    users: dict[str, set[str]] = defaultdict(set)
    nested: dict[str, set[str]] = defaultdict(set)
    groups: set[str] = set()
    for member, group in pairs:
        groups.add(group)
        if member == "":
            continue  # an empty group
        if member.startswith("group:"):
            nested[group].add(member.removeprefix("group:"))
        else:
            users[group].add(member.removeprefix("user:"))
    everyone = sorted({u for members in users.values() for u in members})
    missing = sorted({g for gs in nested.values() for g in gs} - groups)
    groups.update(missing)  # a nested group named but never given members is still a group
    return Snapshot(
        users=tuple(DirectoryUser(name=u) for u in everyone),
        groups=tuple(
            DirectoryGroup(name=g, users=tuple(sorted(users[g])), groups=tuple(sorted(nested[g])))
            for g in sorted(groups)
        ),
    ).check(where)


def _json_pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(
            f'{where}: give an object like {{"eng": ["alice", "group:oncall"]}}'
        )
    pairs: list[tuple[str, str]] = []
    for group, members in data.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise InvalidInputError(f"{where}: group {group!r} must map to a list of member names")
        pairs += [(m, group) for m in members] or [("", group)]
    return pairs


def _csv_pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidInputError(f"{where}: not valid CSV ({exc})") from None
    pairs: list[tuple[str, str]] = []
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not cells or cells == [""] or cells[0].startswith("#"):
            continue
        if n == 1 and [c.lower() for c in cells] == ["user", "group"]:
            continue
        if len(cells) != 2 or not cells[0] or not cells[1]:
            raise InvalidInputError(f"{where}, line {n}: expected 'user,group', got {row!r}")
        pairs.append((cells[0], cells[1]))
    return pairs
