"""No two modules of the package import each other, directly or through others.

The `acyclic` import-linter contract checks cycles between sibling packages; this checks the
module graph itself, package ``__init__`` modules included (``from latentsearch.query import x``
inside query/ while query/__init__.py imports that module is a cycle too). Imports inside
functions and under ``if TYPE_CHECKING:`` count: they are still dependencies.
"""

from __future__ import annotations

import grimp


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each import that closes one, without repeats."""
    seen: set[frozenset[str]] = set()
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is None:
                continue
            cycle = (importer, *back)
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                found.append(cycle)
    return found


def test_the_module_import_graph_has_no_cycle() -> None:
    graph = grimp.build_graph("latentsearch", cache_dir=None)
    assert len(graph.modules) > 50
    found = cycles(graph)
    assert not found, (
        f"{len(found)} import cycles (break each by moving code down a layer):\n  "
        + ("\n  ".join(" -> ".join(c) for c in found))
    )
