"""latentsearch: embedding search and retrieval over latent vectors.

>>> import latentsearch as ls
>>> db = ls.connect("indexes/demo")
>>> docs = db.create_collection("docs", encoder="text", exist_ok=True)
"""

from latentsearch.backup import BackupReport, RestoreReport, backup
from latentsearch.collection import Collection, CollectionInfo
from latentsearch.db import Database, connect
from latentsearch.encoders import Encoder, EncoderIdentity
from latentsearch.errors import LatentSearchError
from latentsearch.query.arithmetic import AnalogyQuery
from latentsearch.query.hybrid import Fusion
from latentsearch.restore import restore
from latentsearch.results import (
    Chunk,
    DirectionInfo,
    Facets,
    FacetValue,
    Hit,
    InterpolationStep,
    Item,
    Source,
    WriteResult,
)

__version__ = "0.1.0"

__all__ = [
    "AnalogyQuery",
    "BackupReport",
    "Chunk",
    "Collection",
    "CollectionInfo",
    "Database",
    "DirectionInfo",
    "Encoder",
    "EncoderIdentity",
    "FacetValue",
    "Facets",
    "Fusion",
    "Hit",
    "InterpolationStep",
    "Item",
    "LatentSearchError",
    "RestoreReport",
    "Source",
    "WriteResult",
    "__version__",
    "backup",
    "connect",
    "restore",
]
