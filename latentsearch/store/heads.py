"""Is the database at the newest schema revision? Answered without importing Alembic.

Every command that opens an index runs the migrations (`engine.migrate`), and importing Alembic
(with Mako and Pygments) and reading every migration script costs a fifth of a short command's
start-up. When the database already holds the newest revision there is nothing to run, so
`at_head` checks that first. It answers True only when it is sure: every file in ``versions/``
parsed (one ``revision`` and one ``down_revision`` each, a single head) and the database's
``alembic_version`` equal to that head. Anything else (a new or older database, a file it cannot
read, an error) answers False, and Alembic decides as before.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

_QUOTED = r"""['"]([^'"\n]+)['"]"""
_REVISION = re.compile(rf"^revision(?:\s*:[^=\n]*)?\s*=\s*{_QUOTED}\s*$", re.MULTILINE)
_DOWN = re.compile(rf"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:None|{_QUOTED})\s*$", re.MULTILINE)


@cache
def head_revision(versions: Path) -> str | None:
    """The one head of the migration scripts in ``versions``, or None when unsure."""
    revisions: list[str] = []
    parents: set[str] = set()
    try:
        files = sorted(versions.glob("*.py"))
        for f in files:
            source = f.read_text(encoding="utf-8")
            rev, down = _REVISION.findall(source), _DOWN.findall(source)
            if len(rev) != 1 or len(down) != 1:
                return None
            revisions.append(rev[0])
            if down[0]:
                parents.add(down[0])
    except (OSError, UnicodeDecodeError):
        return None
    heads = set(revisions) - parents
    if not files or len(set(revisions)) != len(files) or len(heads) != 1:
        return None
    return heads.pop()


def at_head(engine: Engine, versions: Path) -> bool:
    """True when the database's schema revision is the newest one in ``versions``."""
    head = head_revision(versions)
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no such table yet, or no database: let Alembic say
        return False
    return [row[0] for row in current] == [head]
