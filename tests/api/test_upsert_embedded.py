"""``upsert(records, vectors=...)``: records whose texts were embedded elsewhere (a distributed
build's encoder actors). The given vectors are stored, the encoder is not called, and the
content hash is the text's: the same text upserted later is not embedded again."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

import latentsearch as ls
from latentsearch.encoders import SentenceTransformerEncoder
from latentsearch.errors import InvalidInputError

TEXTS = ["The cat sat on the warm mat.", "Stock markets fell sharply.", "Black holes bend light."]


class CountingEncoder(SentenceTransformerEncoder):
    """The real bundled encoder, counting how many texts it embeds."""

    calls = 0

    def encode_texts(self, texts: Sequence[str], **kw) -> np.ndarray:
        CountingEncoder.calls += len(texts)
        return super().encode_texts(texts, **kw)


@pytest.fixture(scope="module")
def encoder() -> CountingEncoder:
    return CountingEncoder("text", device="cpu")


def test_given_vectors_are_stored_and_never_re_embedded(
    db: ls.Database, encoder: CountingEncoder
) -> None:
    col = db.create_collection("docs", encoder=encoder)
    real = encoder.encode_texts(TEXTS)
    records = [{"id": f"d{i}", "text": t, "metadata": {"n": i}} for i, t in enumerate(TEXTS)]
    CountingEncoder.calls = 0
    res = col.upsert(records, vectors=real)
    assert (res.added, CountingEncoder.calls) == (3, 0)
    assert col.get("d1").text == TEXTS[1]
    hit = col.search_vectors(real[2:3], k=1)[0][0]
    assert hit.id == "d2" and hit.score == pytest.approx(1.0, abs=1e-5)
    # The same texts again, from a build that embeds here: unchanged, nothing embedded.
    res = col.upsert(records)
    assert (res.unchanged, CountingEncoder.calls) == (3, 0)
    # A search by text finds them: the stored vectors are the encoder's own.
    assert col.search(TEXTS[0], k=1)[0].id == "d0"


def test_bad_vectors_leave_the_store_as_it_was(db: ls.Database, encoder: CountingEncoder) -> None:
    col = db.create_collection("docs", encoder=encoder)
    records = [{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)]
    good = np.random.default_rng(0).normal(size=(3, col.dim)).astype(np.float32)
    bad = [
        (good[:2], "one per record"),
        (good[:, :10], "dimension"),
        (np.where(np.arange(3)[:, None] == 1, np.nan, good), "NaN"),
        ([list(v) for v in good], "2-d numpy array"),
    ]
    for vectors, message in bad:
        with pytest.raises(InvalidInputError, match=message):
            col.upsert(records, vectors=vectors)
    with pytest.raises(InvalidInputError, match="holds a vector already"):
        col.upsert([{"id": "v", "vector": good[0]}], vectors=good[:1])
    with pytest.raises(InvalidInputError, match="not both"):
        col.upsert(records, vectors=good, ids=["a", "b", "c"])
    assert len(col) == 0
