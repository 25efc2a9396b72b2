"""FAISS indexes keyed by item id: factory strings or automatic choice, GPU when present."""

from latentsearch.index.auto import choose_spec
from latentsearch.index.faiss_index import SearchResult, VectorIndex, check_vectors, min_train_size

__all__ = ["SearchResult", "VectorIndex", "check_vectors", "choose_spec", "min_train_size"]
