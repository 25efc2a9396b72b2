"""Correctness against a peer: latentsearch's analogies equal gensim's on the Google analogy set.

Every word of gensim's ``questions-words.txt`` is embedded once per session with the default
text encoder (``encoder="text"``, all-MiniLM-L6-v2) and indexed in a collection whose ids are the
words. gensim's ``KeyedVectors`` gets the very vectors the collection stored. For every one of
the 19,544 questions, ``analogy(method="3cosadd")`` must return gensim's ``most_similar`` top-1
and ``method="3cosmul"`` gensim's ``most_similar_cosmul`` top-1, unless the two words tie exactly
(float32 rounding: within 1e-6 under gensim's own scores).
"""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

import latentsearch as ls
from latentsearch.encoders import get_encoder
from latentsearch.testing.analogies import (
    AnalogyQuestion,
    agreement,
    load_analogies,
    vocabulary,
)


@pytest.fixture(scope="session")
def google_analogies() -> tuple[list[str], list[AnalogyQuestion], np.ndarray]:
    """(vocabulary, questions a:b :: c:d, vectors) with the vocabulary embedded once per session."""
    questions = load_analogies()
    vocab = vocabulary(questions)
    vectors = get_encoder("text", device="cpu").encode_texts(vocab)
    return vocab, questions, vectors


@pytest.fixture
def analogy_setup(db: ls.Database, google_analogies):
    vocab, questions, vectors = google_analogies
    col = db.create_collection("google", encoder="text", index="Flat")
    col.add(vectors=vectors, ids=vocab)
    stored = np.stack([it.vector for it in col.get(vocab, include_vectors=True)])
    kv = KeyedVectors(vector_size=stored.shape[1])
    kv.add_vectors(vocab, stored)
    return col, kv, questions


@pytest.mark.slow
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
def test_every_google_analogy_matches_gensim(db: ls.Database, analogy_setup, method) -> None:
    col, kv, questions = analogy_setup
    assert len(questions) == 19544
    if db.store.dialect != "sqlite":
        questions = questions[::20]  # the store is not on this path; a sample keeps the suite fast
    ours = col.analogy_batch([([q.b, q.c], [q.a]) for q in questions], k=1, method=method)
    res = agreement(kv, questions, ours, method)
    n = len(questions)
    assert not res.disagreements, res.disagreements[:5]
    assert res.max_score_diff <= 1e-5
    assert res.ties <= n // 1000
    assert res.ours_right == pytest.approx(res.reference_right, abs=res.ties)
    agree, ties, ours_right, theirs_right = res.agree, res.ties, res.ours_right, res.reference_right
    print(  # the numbers the README reports (run with -s to see them)
        f"{method} on {db.store.dialect}: {agree}/{n} top-1 agree with gensim ({ties} exact ties); "
        f"accuracy latentsearch {100 * ours_right / n:.2f}% ({ours_right}/{n}), "
        f"gensim {100 * theirs_right / n:.2f}% ({theirs_right}/{n})"
    )
    # single calls take the same road as the batch
    for q, hits in list(zip(questions, ours, strict=True))[::977]:
        assert col.analogy([q.b, q.c], [q.a], k=1, method=method)[0].id == hits[0].id


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
def test_king_minus_man_plus_woman_agrees_with_gensim(analogy_setup) -> None:
    col, kv, _ = analogy_setup
    theirs = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    for hits in (
        col.query("king - man + woman", k=5),
        col.analogy(["king", "woman"], ["man"], k=5),
    ):
        assert [h.id for h in hits] == [w for w, _ in theirs]
        assert [h.score for h in hits] == pytest.approx([s for _, s in theirs], abs=1e-5)
    cosmul = kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=5)
    mine = col.analogy(["king", "woman"], ["man"], k=5, method="3cosmul")
    assert [h.id for h in mine] == [w for w, _ in cosmul]
    assert [h.score for h in mine] == pytest.approx([s for _, s in cosmul], abs=1e-5)
