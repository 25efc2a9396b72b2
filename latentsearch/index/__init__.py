"""FAISS indexes keyed by item id: factory strings or automatic choice, tuning, GPU when present.

Importing this package changes no FAISS setting; `configure` applies latentsearch's (the
`Database` calls it). The modules, one concern each, are listed in docs/design.md ("index/").
"""

from latentsearch.index.auto import STORAGE, IndexChoice, choose, choose_spec, parse_bytes
from latentsearch.index.faiss_index import SearchResult, VectorIndex
from latentsearch.index.files import index_name, sweep
from latentsearch.index.primitives import METRICS
from latentsearch.index.settings import Settings, configure
from latentsearch.index.specs import approximate, min_train_size
from latentsearch.index.tuning import GroundTruth, Tuning, sample_ids, tunable, tune
from latentsearch.vectors import check_vectors  # its home is the leaf; re-exported for importers

__all__ = [
    "METRICS",
    "STORAGE",
    "GroundTruth",
    "IndexChoice",
    "SearchResult",
    "Settings",
    "Tuning",
    "VectorIndex",
    "approximate",
    "check_vectors",
    "choose",
    "choose_spec",
    "configure",
    "index_name",
    "min_train_size",
    "parse_bytes",
    "sample_ids",
    "sweep",
    "tunable",
    "tune",
]
