"""The query-embedding LRU: bounds and eviction, identity in the key, no stale or shared vectors,
thread safety, configuration through `connect`, and search answers unchanged by it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

import latentsearch as ls
from latentsearch.encoders import Encoder, EncoderIdentity
from latentsearch.encoders.cache import DEFAULT_QUERY_CACHE, EmbeddingCache
from latentsearch.errors import EmptyTextError, InvalidInputError


class HashEncoder(Encoder):
    """A small deterministic text encoder (hash of the text, salted): counts what it embeds."""

    def __init__(self, salt: str = "a", dim: int = 8) -> None:
        self.salt = salt
        self.identity = EncoderIdentity("text", salt, salt, salt, dim, True, ("text",))
        self.encoded: list[str] = []
        self._lock = threading.Lock()

    def encode_texts(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise EmptyTextError("empty")
        with self._lock:
            self.encoded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            digest = hashlib.sha256((self.salt + t).encode()).digest()
            out[i] = np.frombuffer(digest[: 4 * self.dim], dtype=np.uint8)[: self.dim] + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_lru_evicts_least_recently_used() -> None:
    c = EmbeddingCache(2)
    c.put("a", np.ones(2))
    c.put("b", np.ones(2))
    assert c.get("a") is not None  # a is now the most recent
    c.put("c", np.ones(2))
    assert "b" not in c and "a" in c and "c" in c and len(c) == 2
    c.resize(1)
    assert len(c) == 1 and "c" in c
    c.resize(0)
    c.put("d", np.ones(2))
    assert len(c) == 0


def test_cached_vectors_are_private_and_read_only() -> None:
    c = EmbeddingCache(4)
    v = np.ones(3, dtype=np.float32)
    stored = c.put("k", v)
    v[:] = 7  # the caller's array changing later does not reach the cache
    assert np.array_equal(c.get("k"), np.ones(3))
    with pytest.raises(ValueError):
        stored[0] = 2


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_sizes_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        EmbeddingCache(bad)  # type: ignore[arg-type]


def test_encode_queries_matches_encode_texts_and_embeds_each_text_once() -> None:
    enc = HashEncoder()
    first = enc.encode_queries(["x", "y", "x"])
    assert np.array_equal(first, enc.encode_texts(["x", "y", "x"]))
    enc.encoded.clear()
    again = enc.encode_queries(["y", "z", "x"])
    assert enc.encoded == ["z"]  # x and y came from the cache
    assert np.array_equal(again, enc.encode_texts(["y", "z", "x"]))
    again[:] = 0  # returned arrays are the caller's own
    assert np.array_equal(enc.encode_queries(["y"])[0], enc.encode_texts(["y"])[0])
    assert enc.encode_queries([]).shape == (0, enc.dim)


def test_errors_are_those_of_encode_texts() -> None:
    enc = HashEncoder()
    with pytest.raises(EmptyTextError):
        enc.encode_queries(["ok", "  "])
    with pytest.raises(EmptyTextError):
        enc.encode_queries([None])  # type: ignore[list-item]
    assert ("  " not in {k[1] for k in enc.query_cache._data}) and len(enc.query_cache) == 0


def test_identity_is_part_of_the_key() -> None:
    """A vector cached for one latent space is never served for another (no stale vectors)."""
    enc = HashEncoder("a")
    old = enc.encode_queries(["wing"])[0]
    enc.salt = "b"  # the encoder now embeds into another space...
    enc.identity = replace(enc.identity, fingerprint="b")  # ...and says so
    new = enc.encode_queries(["wing"])[0]
    assert not np.allclose(old, new)
    assert np.array_equal(new, enc.encode_texts(["wing"])[0])
    other = HashEncoder("c")
    other._query_cache = enc.query_cache  # even a shared cache keeps spaces apart
    assert np.array_equal(other.encode_queries(["wing"])[0], other.encode_texts(["wing"])[0])


def test_size_zero_disables_the_cache() -> None:
    enc = HashEncoder()
    enc.query_cache.resize(0)
    enc.encode_queries(["x"])
    enc.encode_queries(["x"])
    assert enc.encoded == ["x", "x"] and len(enc.query_cache) == 0


def test_threads_get_correct_vectors_from_a_small_cache() -> None:
    enc = HashEncoder()
    enc.query_cache.resize(5)
    texts = [f"q{i}" for i in range(20)]
    truth = dict(zip(texts, enc.encode_texts(texts), strict=True))
    errors: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(200):
            batch = [texts[j] for j in rng.integers(0, len(texts), 3)]
            for t, v in zip(batch, enc.encode_queries(batch), strict=True):
                if not np.array_equal(v, truth[t]):
                    errors.append(t)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(enc.query_cache) <= 5
    assert enc.query_cache.hits > 0


def test_connect_configures_the_cache_and_search_is_unchanged(tmp_path) -> None:
    with ls.connect(tmp_path / "a", query_cache_size=3) as db:
        col = db.create_collection("docs", encoder="text", index="Flat")
        col.add(texts=["wings and lift", "jet engines", "boundary layers"], ids=["a", "b", "c"])
        assert col.encoder.query_cache.maxsize == 3
        first = col.search("lift on a wing", k=3)
        hits = col.encoder.query_cache.hits
        second = col.search("lift on a wing", k=3)
        assert col.encoder.query_cache.hits == hits + 1
        assert [(h.id, h.score) for h in first] == [(h.id, h.score) for h in second]
        direct = col.encoder.encode_texts(["lift on a wing"])[0]
        assert np.allclose(col.embed_query("lift on a wing"), direct, atol=1e-6)
    with ls.connect(tmp_path / "a", query_cache_size=0) as db:
        col = db.collection("docs")
        col.search("lift on a wing", k=1)
        assert len(col.encoder.query_cache) == 0
    with pytest.raises(InvalidInputError):
        ls.connect(tmp_path / "b", query_cache_size=-1)
    assert DEFAULT_QUERY_CACHE > 0
