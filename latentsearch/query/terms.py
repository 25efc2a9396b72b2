"""Query terms for keyword search and highlighting: word tokens, stop words, Porter stems.

SQLite's FTS5 index uses the ``porter`` tokenizer and PostgreSQL the ``english`` Snowball
configuration; highlighting stems with the same Porter algorithm (via ``snowballstemmer``) so a
highlighted word is a word the keyword index matched ("running" highlights "runs").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 64
# Highlighting looks at most this many candidate words per text, and searches at most
# SCAN_CHARS characters of it: its cost is bounded whatever the size of the text (defect 12).
MAX_CANDIDATES = 256
SCAN_CHARS = 2_000_000

# The usual English stop words (NLTK's list): too common to rank or highlight.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "ain",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "couldn",
        "d",
        "did",
        "didn",
        "do",
        "does",
        "doesn",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn",
        "has",
        "hasn",
        "have",
        "haven",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "isn",
        "it",
        "its",
        "itself",
        "just",
        "ll",
        "m",
        "ma",
        "me",
        "mightn",
        "more",
        "most",
        "mustn",
        "my",
        "myself",
        "needn",
        "no",
        "nor",
        "not",
        "now",
        "o",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "re",
        "s",
        "same",
        "shan",
        "she",
        "should",
        "shouldn",
        "so",
        "some",
        "such",
        "t",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "ve",
        "very",
        "was",
        "wasn",
        "we",
        "were",
        "weren",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "won",
        "wouldn",
        "y",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)

_stemmer = snowballstemmer.stemmer("porter")


@dataclass(frozen=True, slots=True)
class Token:
    """A word in a text and where it is (character offsets, end exclusive)."""

    word: str
    start: int
    end: int


def tokens(text: str) -> Iterator[Token]:
    for m in WORD.finditer(text):
        yield Token(m.group(0), m.start(), m.end())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word.lower()))


def query_terms(text: str) -> list[str]:
    """The distinct content words of a query, lower-cased, in order (at most MAX_QUERY_TERMS)."""
    out: dict[str, None] = {}
    for t in tokens(text):
        w = t.word.lower()
        if w not in STOP_WORDS and (len(w) > 1 or w.isdigit()):
            out.setdefault(w, None)
    return list(out)[:MAX_QUERY_TERMS]


def matches(text: str, terms: list[str], *, limit: int = MAX_CANDIDATES) -> list[Token]:
    """The words of ``text`` whose stem equals the stem of a query term, in text order, among
    the first ``limit`` candidates.

    A word stems to ``s`` only if it starts with ``s`` less its last letter (Porter rewrites at
    most the last letter of what it keeps: "happy" -> "happi", "hoping" -> "hope"), so one
    regular-expression search for those prefixes finds every candidate without tokenising or
    stemming the text; only candidates are stemmed. Cost: one C-speed scan of at most
    `SCAN_CHARS` characters plus ``limit`` stems, not a Python loop over every word.
    """
    stems = {stem(t) for t in terms}
    if not stems:
        return []
    out = []
    for n, m in enumerate(_candidates(frozenset(stems)).finditer(text, 0, SCAN_CHARS)):
        if n >= limit:
            break
        if stem(m.group(0)) in stems:
            out.append(Token(m.group(0), m.start(), m.end()))
    return out


@lru_cache(maxsize=1024)
def _candidates(stems: frozenset[str]) -> re.Pattern[str]:
    prefixes = sorted({s[:-1] if len(s) > 1 else s for s in stems}, key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in prefixes)
    return re.compile(rf"(?<!\w)(?:{alternatives})\w*", re.IGNORECASE | re.UNICODE)
