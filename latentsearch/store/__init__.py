"""The SQL store: the core tables (collections, items, vectors, principals, tombstones, values,
directions, keyword), sessions, migrations, durable vectors and ACL principals.

Feature tables (API keys, build state) live with the feature that owns them and share this
store's `Base`; the migrations here create every table, theirs included.
"""

from latentsearch.store.directions import DirectionRow
from latentsearch.store.engine import Store
from latentsearch.store.models import (
    Base,
    CollectionRow,
    ItemPrincipalRow,
    ItemRow,
    TombstoneRow,
    VectorRow,
)
from latentsearch.store.values import ItemValueRow

__all__ = [
    "Base",
    "CollectionRow",
    "DirectionRow",
    "ItemPrincipalRow",
    "ItemRow",
    "ItemValueRow",
    "Store",
    "TombstoneRow",
    "VectorRow",
]
