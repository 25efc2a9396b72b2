"""Token-aware chunking that respects paragraphs, then sentences, then words.

A text longer than ``size`` tokens (counted with the encoder's own tokenizer) is cut into windows
of at most ``size`` tokens. Each window ends at the best break it can reach: a paragraph break
(blank line) if one lies in the second half of the window, else a sentence end, else a word
boundary, else anywhere. The next window starts up to ``overlap`` tokens before the previous
one ended, at a sentence start where there is one in that range, else at a word start.

Chunks are character spans of the original text, so a hit can cite the exact passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from latentsearch.errors import InvalidInputError

# Break priorities, best first.
PARAGRAPH, SENTENCE, WORD, NONE = 3, 2, 1, 0
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_END = frozenset(".!?:;")
_CLOSERS = frozenset("\"')]}»”’")
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)

DEFAULT_SIZE = 256  # tokens, for encoders that declare no maximum input length

Offsets = Sequence[tuple[int, int]]
Tokenize = Callable[[str], Offsets]


@dataclass(frozen=True, slots=True)
class Span:
    """One chunk: ``text[start:end]``."""

    start: int
    end: int


def regex_offsets(text: str) -> list[tuple[int, int]]:
    """Word and punctuation spans: a stand-in for encoders that expose no tokenizer."""
    return [m.span() for m in _WORDS.finditer(text)]


def hf_offsets(tokenizer: Any) -> Tokenize:
    """Token character spans from a Hugging Face fast tokenizer (no special tokens)."""

    def offsets(text: str) -> Offsets:
        enc = tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=False,
            verbose=False,
        )
        return [(int(a), int(b)) for a, b in enc["offset_mapping"] if b > a]

    return offsets


class Chunker:
    """Split texts into overlapping token windows; see the module docstring for the rules."""

    def __init__(self, tokenize: Tokenize, size: int, overlap: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 8:
            raise InvalidInputError(
                f"chunk size must be an integer of at least 8 tokens, not {size!r}"
            )
        if (
            isinstance(overlap, bool)
            or not isinstance(overlap, int)
            or not 0 <= overlap < size // 2
        ):
            raise InvalidInputError(
                f"chunk overlap must be an integer from 0 to {size // 2 - 1} (under half the chunk size {size}), not {overlap!r}"
            )
        self.tokenize = tokenize
        self.size = size
        self.overlap = overlap

    def split(self, text: str) -> list[Span]:
        """Chunk spans covering ``text`` (one span for a text that fits)."""
        stripped = text.strip()
        if not stripped:
            return []
        start = len(text) - len(text.lstrip())
        end = start + len(stripped)
        # Every token covers at least one byte, so a text this short always fits: skip the tokenizer.
        if len(stripped.encode("utf-8")) <= self.size:
            return [Span(start, end)]
        offsets = self.tokenize(text)
        n = len(offsets)
        if n <= self.size:
            return [Span(start, end)]
        breaks = _break_scores(text, offsets)
        return [Span(offsets[a][0], offsets[b - 1][1]) for a, b in self._windows(breaks, n)]

    def _windows(self, breaks: list[int], n: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        a = 0
        min_fill = self.size // 2
        while True:
            limit = a + self.size
            if limit >= n:
                out.append((a, n))
                return out
            b = _best_break(breaks, a + min_fill, limit)
            out.append((a, b))
            a = self._next_start(breaks, a, b)

    def _next_start(self, breaks: list[int], a: int, b: int) -> int:
        if self.overlap == 0:
            return b
        lo = max(b - self.overlap, a + 1)
        for prio in (SENTENCE, WORD):
            for t in range(lo, b):
                if breaks[t] >= prio:
                    return t
        return b


def _best_break(breaks: list[int], lo: int, hi: int) -> int:
    """The last index in [lo, hi] with the highest break priority found there."""
    best, best_prio = hi, NONE
    for t in range(hi, lo - 1, -1):
        if breaks[t] > best_prio:
            best, best_prio = t, breaks[t]
            if best_prio == PARAGRAPH:
                break
    return best


def _break_scores(text: str, offsets: Offsets) -> list[int]:
    """``scores[t]``: how good a place it is to cut before token ``t`` (``t == n`` is the end)."""
    n = len(offsets)
    scores = [NONE] * (n + 1)
    scores[0] = scores[n] = PARAGRAPH
    for t in range(1, n):
        prev_end, cur_start = offsets[t - 1][1], offsets[t][0]
        gap = text[prev_end:cur_start]
        if not gap or not gap.isspace():
            continue
        if _BLANK_LINE.search(gap):
            scores[t] = PARAGRAPH
        elif _ends_sentence(text, offsets[t - 1][0], prev_end):
            scores[t] = SENTENCE
        else:
            scores[t] = WORD
    return scores


def _ends_sentence(text: str, start: int, end: int) -> bool:
    i = end - 1
    while i > start and text[i] in _CLOSERS:
        i -= 1
    return text[i] in _SENTENCE_END


def chunker_for(encoder: Any, size: int | None = None, overlap: int | None = None) -> Chunker:
    """A chunker using ``encoder``'s tokenizer, sized to what the encoder reads.

    ``size`` defaults to the model's maximum input length less its special tokens (254 tokens
    for all-MiniLM-L6-v2), and may not exceed it (the encoder would silently cut the rest).
    ``overlap`` defaults to an eighth of the size.
    """
    model = getattr(encoder, "model", None)
    tokenizer = getattr(model, "tokenizer", None)
    limit = getattr(model, "max_seq_length", None)
    if tokenizer is not None and callable(tokenizer):
        tokenize = hf_offsets(tokenizer)
        specials = (
            int(tokenizer.num_special_tokens_to_add())
            if hasattr(tokenizer, "num_special_tokens_to_add")
            else 2
        )
    else:
        tokenize, specials = regex_offsets, 0
    most = int(limit) - specials if limit else None
    if size is None:
        size = most or DEFAULT_SIZE
    elif most is not None and size > most:
        raise InvalidInputError(
            f"chunk size {size} is more than the encoder reads ({most} tokens, plus {specials} special); "
            f"use --chunk-size {most} or less"
        )
    if overlap is None:
        overlap = size // 8
    return Chunker(tokenize, size, overlap)
