"""The SQL store: models, sessions, migrations, durable vectors and ACL principals."""

from latentsearch.store.directions import DirectionRow
from latentsearch.store.engine import Store
from latentsearch.store.files import BuildRow, SourceDocRow, SourceFileRow
from latentsearch.store.keys import ApiKeyRow
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
    "ApiKeyRow",
    "Base",
    "BuildRow",
    "CollectionRow",
    "DirectionRow",
    "ItemPrincipalRow",
    "ItemRow",
    "ItemValueRow",
    "SourceDocRow",
    "SourceFileRow",
    "Store",
    "TombstoneRow",
    "VectorRow",
]
