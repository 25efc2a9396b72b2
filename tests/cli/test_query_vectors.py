"""The query-vector file of the command line: exact bytes, bounded, and a miss (never an error)
for anything it cannot trust or write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from latentsearch.encoders.query_file import FILE_NAME, QueryVectorFile

SPACE = "space-a"


def _vec(seed: int, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=dim).astype(np.float32)


def test_a_stored_vector_comes_back_byte_for_byte(tmp_path: Path) -> None:
    f = QueryVectorFile(tmp_path)
    assert f.get(SPACE, "vpn down", 8) is None
    assert not (tmp_path / FILE_NAME).exists()  # a miss creates nothing
    v = _vec(0)
    f.put(SPACE, "vpn down", v)
    got = QueryVectorFile(tmp_path).get(SPACE, "vpn down", 8)
    assert got is not None and got.dtype == np.float32 and got.tobytes() == v.tobytes()
    got[0] = 42.0  # a private copy
    assert QueryVectorFile(tmp_path).get(SPACE, "vpn down", 8).tobytes() == v.tobytes()


def test_keys_are_the_space_and_the_exact_text(tmp_path: Path) -> None:
    f = QueryVectorFile(tmp_path)
    f.put(SPACE, "vpn down", _vec(0))
    assert f.get("space-b", "vpn down", 8) is None
    assert f.get(SPACE, "vpn down ", 8) is None
    assert f.get(SPACE, "VPN down", 8) is None
    assert f.get(SPACE, "vpn down", 16) is None  # another dimension is another space
    odd = "nul \0 and a lone surrogate \ud800"
    f.put(SPACE, odd, _vec(1))
    assert f.get(SPACE, odd, 8).tobytes() == _vec(1).tobytes()


def test_bounded_least_recently_used_go_first(tmp_path: Path) -> None:
    f = QueryVectorFile(tmp_path, maxsize=3)
    for i in range(3):
        f.put(SPACE, f"q{i}", _vec(i))
    assert f.get(SPACE, "q0", 8) is not None  # used again: q1 is now the oldest
    f.put(SPACE, "q3", _vec(3))
    f.put(SPACE, "q4", _vec(4))
    kept = {q for q in ("q0", "q1", "q2", "q3", "q4") if f.get(SPACE, q, 8) is not None}
    assert kept == {"q0", "q3", "q4"}


def test_a_damaged_entry_or_file_is_a_miss(tmp_path: Path) -> None:
    f = QueryVectorFile(tmp_path)
    f.put(SPACE, "a", _vec(0))
    f.put(SPACE, "b", _vec(1))
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:  # flip one byte of one vector
        (blob,) = conn.execute("SELECT vector FROM query_vectors LIMIT 1").fetchone()
        conn.execute(
            "UPDATE query_vectors SET vector = ? WHERE vector = ?", (b"\1" + blob[1:], blob)
        )
    conn.close()
    assert sum(f.get(SPACE, q, 8) is None for q in "ab") == 1  # the digest no longer matches
    (tmp_path / FILE_NAME).write_bytes(b"not a database at all" * 100)
    assert f.get(SPACE, "a", 8) is None
    f.put(SPACE, "a", _vec(0))  # no error either
    assert (tmp_path / FILE_NAME).read_bytes().startswith(b"not a database")


def test_read_only_reads_but_never_writes(tmp_path: Path) -> None:
    QueryVectorFile(tmp_path).put(SPACE, "a", _vec(0))
    before = (tmp_path / FILE_NAME).read_bytes()
    ro = QueryVectorFile(tmp_path, writable=False)
    assert ro.get(SPACE, "a", 8).tobytes() == _vec(0).tobytes()
    ro.put(SPACE, "b", _vec(1))
    assert ro.get(SPACE, "b", 8) is None
    assert (tmp_path / FILE_NAME).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]
    missing = tmp_path / "elsewhere"
    missing.mkdir()
    QueryVectorFile(missing, writable=False).put(SPACE, "a", _vec(0))
    assert not any(missing.iterdir())
