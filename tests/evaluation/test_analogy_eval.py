"""The Google analogy set reader and the agreement count (`latentsearch.testing.analogies`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from latentsearch.errors import InvalidInputError
from latentsearch.results import Hit, Source
from latentsearch.testing.analogies import agreement, load_analogies, vocabulary


def test_gensims_copy_of_the_google_set() -> None:
    qs = load_analogies()
    assert len(qs) == 19544
    assert len({q.section for q in qs}) == 14
    assert qs[0].section == "capital-common-countries"
    assert (qs[0].a, qs[0].b, qs[0].c, qs[0].d) == ("Athens", "Greece", "Baghdad", "Iraq")
    assert len(vocabulary(qs)) == 905


def test_sections_blank_lines_and_bad_lines(tmp_path: Path) -> None:
    p = tmp_path / "q.txt"
    p.write_text(": one\na b c d\n\n: two\ne f g h\n", encoding="utf-8")
    qs = load_analogies(p)
    assert [(q.section, q.d) for q in qs] == [("one", "d"), ("two", "h")]
    assert vocabulary(qs) == list("abcdefgh")
    p.write_text(": one\na b c\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"q.txt:2: expected 4 words"):
        load_analogies(p)


def _hit(word: str, score: float) -> Hit:
    return Hit(id=word, score=score, kind="vector", text=None, metadata={}, source=Source())


def test_agreement_counts_agreements_ties_and_disagreements(tmp_path: Path) -> None:
    # 2-d unit vectors: b + c - a points at "d"; "twin" has d's vector (an exact tie).
    words = ["a", "b", "c", "d", "twin", "far"]
    vecs = np.array(
        [[1, 0], [0.6, 0.8], [0.8, 0.6], [0.28, 0.96], [0.28, 0.96], [-1, 0]], dtype=np.float32
    )
    kv = KeyedVectors(vector_size=2)
    kv.add_vectors(words, vecs)
    p = tmp_path / "q.txt"
    p.write_text(": s\na b c d\na b c d\na b c d\n", encoding="utf-8")
    qs = load_analogies(p)
    (_, score), *_ = kv.most_similar(positive=["b", "c"], negative=["a"], topn=1)
    top = kv.most_similar(positive=["b", "c"], negative=["a"], topn=1)[0][0]
    other = "twin" if top == "d" else "d"
    ours = [[_hit(top, score)], [_hit(other, score)], [_hit("far", -1.0)]]
    res = agreement(kv, qs, ours, "3cosadd")
    assert (res.questions, res.agree, res.ties, len(res.disagreements)) == (3, 1, 1, 1)
    assert res.rate == pytest.approx(2 / 3)
    assert res.disagreements[0][1:] == ("far", top)
