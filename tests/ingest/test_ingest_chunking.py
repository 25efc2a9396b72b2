"""Token-aware chunking with the default model's own tokenizer."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentsearch.encoders import get_encoder
from latentsearch.errors import InvalidInputError
from latentsearch.ingest.chunking import Chunker, chunker_for, hf_offsets, regex_offsets


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return get_encoder("text", device="cpu").model.tokenizer  # type: ignore[attr-defined]


def _tokens(tokenizer, text: str) -> int:  # type: ignore[no-untyped-def]
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


PARAGRAPH = (
    "The backup job copies every database to the object store at two in the morning. "
    "It keeps daily copies for a week and weekly copies for a year. "
    "Restores are tested once a month on a scratch server."
)


def test_defaults_follow_the_model(tokenizer) -> None:  # type: ignore[no-untyped-def]
    chunker = chunker_for(get_encoder("text", device="cpu"))
    assert (chunker.size, chunker.overlap) == (254, 31)  # 256 tokens less [CLS] and [SEP]
    with pytest.raises(InvalidInputError, match="more than the encoder reads"):
        chunker_for(get_encoder("text", device="cpu"), 300)


def test_short_text_is_one_span(tokenizer) -> None:  # type: ignore[no-untyped-def]
    chunker = Chunker(hf_offsets(tokenizer), 64, 8)
    text = "\n  Short note about lunch.  \n"
    (span,) = chunker.split(text)
    assert text[span.start : span.end] == "Short note about lunch."
    assert chunker.split(" \n\t ") == []


def test_chunks_fit_respect_paragraphs_and_overlap(tokenizer) -> None:  # type: ignore[no-untyped-def]
    paragraphs = [f"Section {i}. {PARAGRAPH}" for i in range(12)]
    text = "\n\n".join(paragraphs)
    per_paragraph = _tokens(tokenizer, paragraphs[0])
    chunker = Chunker(hf_offsets(tokenizer), 2 * per_paragraph + 5, 12)
    spans = chunker.split(text)
    assert len(spans) >= 6
    for a, b in itertools.pairwise(spans):
        assert b.start < a.end  # overlap
        assert _tokens(tokenizer, text[b.start : a.end]) <= 12
        assert (
            text[b.start - 2 : b.start] == ". " or text[b.start - 2 : b.start] == "\n\n"
        )  # starts a sentence
    for s in spans:
        assert _tokens(tokenizer, text[s.start : s.end]) <= chunker.size
        # Each chunk ends at the end of a paragraph, not mid-sentence.
        assert text[s.end : s.end + 2] in ("\n\n", "")
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_without_breaks_text_is_cut_by_tokens(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = "x" * 3000  # one "word", no spaces at all
    chunker = Chunker(hf_offsets(tokenizer), 50, 0)
    spans = chunker.split(text)
    assert "".join(text[s.start : s.end] for s in spans) == text
    assert all(_tokens(tokenizer, text[s.start : s.end]) <= 50 for s in spans)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            ["alpha", "beta.", "gamma,", "delta!", "\n\n", "\n", "ünïcode", "42", "(x)"]
        ),
        min_size=1,
        max_size=400,
    ),
    size=st.integers(8, 60),
    overlap_fraction=st.floats(0, 0.45),
)
def test_spans_cover_the_text_in_order(
    words: list[str], size: int, overlap_fraction: float
) -> None:
    text = " ".join(words)
    chunker = Chunker(regex_offsets, size, int(size * overlap_fraction))
    spans = chunker.split(text)
    tokens = regex_offsets(text)
    if not tokens:
        assert spans == [] or text.strip() == ""
        return
    covered = set()
    for s in spans:
        inside = [t for t in tokens if s.start <= t[0] and t[1] <= s.end]
        assert 0 < len(inside) <= size
        covered.update(inside)
    assert covered == set(tokens)
    assert [s.start for s in spans] == sorted(s.start for s in spans)


def test_bad_settings() -> None:
    with pytest.raises(InvalidInputError, match="at least 8"):
        Chunker(regex_offsets, 4, 0)
    with pytest.raises(InvalidInputError, match="under half"):
        Chunker(regex_offsets, 100, 50)
