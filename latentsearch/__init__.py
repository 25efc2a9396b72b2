"""latentsearch: embedding search and retrieval over latent vectors.

>>> import latentsearch as ls
>>> db = ls.connect("indexes/demo")
>>> docs = db.create_collection("docs", encoder="text", exist_ok=True)

The public names load on first use (PEP 562), so ``import latentsearch`` and the command line
start without SQLAlchemy, FAISS, torch or the encoders until something needs them.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from latentsearch.lazy import exports

if TYPE_CHECKING:
    from latentsearch.backup import BackupReport, RestoreReport, backup
    from latentsearch.collection import Collection, CollectionInfo
    from latentsearch.db import Database, connect
    from latentsearch.encoders import Encoder, EncoderIdentity
    from latentsearch.errors import LatentSearchError
    from latentsearch.query.arithmetic import AnalogyQuery
    from latentsearch.query.generator import ChatGenerator
    from latentsearch.query.hybrid import Fusion
    from latentsearch.restore import restore
    from latentsearch.results import (
        Answer,
        AnswerDocument,
        AxisPosition,
        Chunk,
        Citation,
        Cluster,
        ClusterNode,
        ClusterStatus,
        DirectionInfo,
        Draw,
        Facets,
        FacetValue,
        Hit,
        InterpolationStep,
        Item,
        LatentMap,
        MapPoint,
        Passage,
        SearchHits,
        ShardReplica,
        Source,
        Span,
        SummarySentence,
        WriteResult,
    )

__version__ = "0.1.0"

# Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "AnalogyQuery": "latentsearch.query.arithmetic",
    "Answer": "latentsearch.results",
    "AnswerDocument": "latentsearch.results",
    "AxisPosition": "latentsearch.results",
    "ChatGenerator": "latentsearch.query.generator",
    "Citation": "latentsearch.results",
    "BackupReport": "latentsearch.backup",
    "Chunk": "latentsearch.results",
    "Cluster": "latentsearch.results",
    "ClusterNode": "latentsearch.results",
    "ClusterStatus": "latentsearch.results",
    "Collection": "latentsearch.collection",
    "CollectionInfo": "latentsearch.collection",
    "Database": "latentsearch.db",
    "DirectionInfo": "latentsearch.results",
    "Draw": "latentsearch.results",
    "Encoder": "latentsearch.encoders",
    "EncoderIdentity": "latentsearch.encoders",
    "FacetValue": "latentsearch.results",
    "Facets": "latentsearch.results",
    "Fusion": "latentsearch.query.hybrid",
    "Hit": "latentsearch.results",
    "InterpolationStep": "latentsearch.results",
    "Item": "latentsearch.results",
    "LatentMap": "latentsearch.results",
    "LatentSearchError": "latentsearch.errors",
    "MapPoint": "latentsearch.results",
    "Passage": "latentsearch.results",
    "RestoreReport": "latentsearch.backup",
    "SearchHits": "latentsearch.results",
    "ShardReplica": "latentsearch.results",
    "Source": "latentsearch.results",
    "Span": "latentsearch.results",
    "SummarySentence": "latentsearch.results",
    "WriteResult": "latentsearch.results",
    "backup": "latentsearch.backup",
    "connect": "latentsearch.db",
    "restore": "latentsearch.restore",
}

__all__ = [
    "AnalogyQuery",
    "Answer",
    "AnswerDocument",
    "AxisPosition",
    "BackupReport",
    "ChatGenerator",
    "Chunk",
    "Citation",
    "Cluster",
    "ClusterNode",
    "ClusterStatus",
    "Collection",
    "CollectionInfo",
    "Database",
    "DirectionInfo",
    "Draw",
    "Encoder",
    "EncoderIdentity",
    "FacetValue",
    "Facets",
    "Fusion",
    "Hit",
    "InterpolationStep",
    "Item",
    "LatentMap",
    "LatentSearchError",
    "MapPoint",
    "Passage",
    "RestoreReport",
    "SearchHits",
    "ShardReplica",
    "Source",
    "Span",
    "SummarySentence",
    "WriteResult",
    "__version__",
    "backup",
    "connect",
    "restore",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)


class _Package(types.ModuleType):
    """``latentsearch.backup`` and ``latentsearch.restore`` are functions, although modules of
    those names exist. Importing such a module sets the package attribute to the module; this
    keeps the function there instead, as the eager imports of this file used to."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("backup", "restore") and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
