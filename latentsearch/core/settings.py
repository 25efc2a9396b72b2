"""What every part of a collection knows about it: `CollectionSettings`, and `OptionsRecorder`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from latentsearch.encoders import EncoderIdentity
from latentsearch.store import CollectionRow, Store

DEFAULT_RECALL = 0.95


@dataclass(slots=True)
class CollectionSettings:
    """One collection's fixed settings (its ``ls_collections`` row) and its options.

    ``options`` is one dict shared by the facade and the parts: the index keeper records the
    index it chose and its tuning there (and in the store), and `Collection.options` shows it.
    """

    id: int
    name: str
    dim: int
    metric: str
    index_spec: str  # "auto" or a FAISS factory string
    identity: EncoderIdentity | None = None  # None: a bring-your-own-vectors collection
    require_principals: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: CollectionRow) -> CollectionSettings:
        return cls(
            id=row.id,
            name=row.name,
            dim=row.dim,
            metric=row.metric,
            index_spec=row.index_spec,
            identity=EncoderIdentity.from_dict(row.encoder) if row.encoder else None,
            require_principals=row.require_principals,
            options=dict(row.options or {}),
        )

    @property
    def default_acl(self) -> list[str]:
        """The ACL of items written without one (``["*"]``: everyone)."""
        return list(self.options.get("default_acl", ["*"]))

    @property
    def recall_target(self) -> float:
        """The recall@10 that tuning aims approximate indexes at."""
        return float(self.options.get("recall_target", DEFAULT_RECALL))

    @property
    def normalize(self) -> bool:
        """Vectors are stored at unit length (the cosine metric)."""
        return self.metric == "cosine"


class OptionsRecorder:
    """Options that change while a collection is open (the index chosen, its tuning, the recall
    target): set in memory at once, written to the store by `persist`.

    Writing needs a connection, and no connection is waited for while the collection lock is
    held (see `core.locking`), so parts `set` options under the lock and `persist` after it.
    A read-only collection keeps them in memory only.
    """

    def __init__(self, store: Store, settings: CollectionSettings, *, read_only: bool) -> None:
        self.store = store
        self.settings = settings
        self.read_only = read_only
        self._unsaved: dict[str, Any] = {}
        self._lock = threading.Lock()  # never held while waiting for anything else

    def set(self, **values: Any) -> None:
        if not values:
            return
        self.settings.options.update(values)
        if not self.read_only:
            with self._lock:
                self._unsaved.update(values)

    def persist(self) -> None:
        """Write the options set since the last call (call it without holding any lock)."""
        with self._lock:
            values, self._unsaved = self._unsaved, {}
        if not values:
            return
        with self.store.transaction() as s:
            row = s.get(CollectionRow, self.settings.id)
            if row is not None:
                row.options = {**(row.options or {}), **values}
