"""Only the Collection's own parts touch `_`-names of other objects (docs/design.md).

An AST scan of the package: outside latentsearch/collection.py, db.py and core/, no module
reads or writes ``x._name`` (dunders aside) where ``x`` is not ``self``, ``cls`` or ``super()``,
unless ``_name`` is declared in that same module (a class's own private state seen on another
instance of it, or a module-private helper). ``from latentsearch.other import _name`` across
top-level packages is refused too. Library private APIs pass only through ALLOWED, with a reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "latentsearch"

# The Collection's own parts: they share the state they are built from.
OWN_PARTS = ("collection.py", "db.py", "core/")

# (receiver as written, attribute): why it is safe.
ALLOWED: dict[tuple[str, str], str] = {
    ("sys", "_getframe"): "CPython's documented frame access; no public equivalent",
}

# Names that start with `_` but are public by contract.
PUBLIC_UNDERSCORE = {
    "_asdict": "namedtuple API",
    "_replace": "namedtuple API",
    "_fields": "namedtuple API",
    "_make": "namedtuple API",
    "_missing_": "enum API",
    "_value_": "enum API",
    "_name_": "enum API",
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def declared_names(tree: ast.Module) -> set[str]:
    """Every `_`-name this module declares: top-level and class-body names, methods, and
    attributes it assigns on ``self``/``cls``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return {n for n in names if is_private(n)}


def receiver(node: ast.expr) -> str:
    """The receiver as written, for messages and ALLOWED (``a.b`` or ``<expr>``)."""
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return "<expr>"


def is_own(value: ast.expr) -> bool:
    if isinstance(value, ast.Name) and value.id in ("self", "cls"):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "super"
    )


def top_package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = declared_names(tree)
    here = module_name(path)
    where = path.relative_to(PACKAGE.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            if is_own(node.value) or node.attr in own or node.attr in PUBLIC_UNDERSCORE:
                continue
            if (receiver(node.value), node.attr) in ALLOWED:
                continue
            found.append(f"{where}:{node.lineno}: {receiver(node.value)}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            source = node.module
            if not source.startswith("latentsearch") or top_package(source) == top_package(here):
                continue
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"{where}:{node.lineno}: from {source} import {alias.name}")
    return found


def checked_files() -> list[Path]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(OWN_PARTS) or rel.startswith("store/migrations/"):
            continue
        files.append(path)
    return files


def test_the_scan_sees_the_package() -> None:
    assert len(checked_files()) > 50


def test_the_scan_finds_what_it_should() -> None:
    src = (
        "import sys\n"
        "class A:\n"
        "    def __init__(self):\n"
        "        self._mine = 1\n"
        "    def same(self, other):\n"
        "        return other._mine + super()._x + sys._getframe(0).f_lineno\n"
        "def bad(col):\n"
        "    col._id = col._db\n"
        "    return col.__class__\n"
    )
    tree = ast.parse(src)
    own = declared_names(tree)
    flagged = sorted(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and is_private(node.attr)
        and not (is_own(node.value) or node.attr in own)
        and (receiver(node.value), node.attr) not in ALLOWED
    )
    assert flagged == ["_db", "_id"]


def test_no_module_outside_the_collection_touches_private_names() -> None:
    found = [line for path in checked_files() for line in offences(path)]
    assert not found, (
        "private names touched outside collection.py, db.py and core/ "
        "(use or add a public method or attribute instead):\n  " + "\n  ".join(found)
    )
