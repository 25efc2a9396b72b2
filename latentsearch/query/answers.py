"""Answers with sources: the best passages for a question, grouped by document, each with its
citation, plus a short extractive summary (no model) and, optionally, a generated answer.

The passages are one search (``mode``: dense, keyword or hybrid) under the caller's filters and
principals, so an answer holds nothing a search by the same caller could not return, and a
generator sees only those passages. The summary is the highest-scoring sentences of the
passages: a sentence scores by the share of the question's terms it contains (stemmed as the
keyword index stems them), plus a bonus for the rank of its passage; only sentences holding a
question word are taken, unless none does (a purely semantic match), when the best passage's
opening sentences are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from latentsearch.checks import check_k, check_text
from latentsearch.errors import InvalidInputError
from latentsearch.query import hybrid
from latentsearch.query.citations import cite
from latentsearch.query.generator import Generator, cited
from latentsearch.query.space import Space
from latentsearch.query.terms import matches, query_terms, stem
from latentsearch.results import Answer, AnswerDocument, Hit, Passage, SummarySentence

MAX_QUESTION_CHARS = 10_000
PASSAGE_CHARS = 1_500  # a passage longer than this is cut to a window around its snippet
SENTENCE_CHARS = 400
SUMMARY_SENTENCES = 3
# A sentence: up to and including a full stop (followed by space or the end), a blank line or
# the end of the text. Abbreviations split early; a summary sentence is still a true quote.
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s|$)|(?=\n\s*\n)|$)", re.S)


def answer(
    space: Space,
    question: str,
    k: int = 8,
    *,
    mode: str = "hybrid",
    where: Mapping[str, Any] | None = None,
    principals: Sequence[str] | None = None,
    generator: Generator | None = None,
    sentences: int = SUMMARY_SENTENCES,
) -> Answer:
    """The answer card for ``question`` from the ``k`` best passages the caller may see."""
    question = _check_question(question)
    hits = hybrid.search(space, question, check_k(k), mode=mode, where=where, principals=principals)
    passages = [_passage(n, h, question) for n, h in enumerate(_text_hits(hits), start=1)]
    summary = summarize(question, passages, sentences)
    card = Answer(
        question=question,
        mode=mode,
        summary=" ".join(f"{s.text} [{s.passage}]" for s in summary),
        sentences=summary,
        documents=group(passages),
    )
    if generator is not None and passages:
        card.generated = generator.generate(question, passages)
        card.generator = generator.name
        card.cited = cited(card.generated, passages)
    return card


def _check_question(question: Any) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError("the question must be a non-empty string")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInputError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
    return check_text(question, "the question").strip()


def _text_hits(hits: list[Hit]) -> list[Hit]:
    """Hits with text to quote (an image or bare vector has no passage)."""
    return [h for h in hits if h.kind == "text" and h.text]


def _passage(number: int, hit: Hit, question: str) -> Passage:
    c = cite(hit, question)
    text = hit.text or ""
    base = hit.chunk.start if hit.chunk else 0
    lo = 0
    if len(text) > PASSAGE_CHARS:  # centre the window on the snippet, which holds the matches
        snippet_at = c.start - base
        lo = max(0, min(len(text) - PASSAGE_CHARS, snippet_at - PASSAGE_CHARS // 4))
        text = text[lo : lo + PASSAGE_CHARS]
    return Passage(
        number=number, id=hit.id, text=text, start=base + lo, score=float(hit.score), citation=c
    )


def group(passages: list[Passage]) -> list[AnswerDocument]:
    """Passages grouped by their document, documents in order of their best passage."""
    docs: dict[str, AnswerDocument] = {}
    for p in passages:  # passages come best first
        c = p.citation
        doc = docs.get(c.doc_id)
        if doc is None:
            doc = docs[c.doc_id] = AnswerDocument(c.doc_id, c.title, c.uri, p.score)
        doc.passages.append(p)
    return list(docs.values())


def summarize(question: str, passages: list[Passage], limit: int) -> list[SummarySentence]:
    """The ``limit`` highest-scoring sentences of ``passages`` (distinct texts), best first."""
    terms = query_terms(question)
    wanted = {stem(t) for t in terms}
    scored: list[tuple[float, int, int, SummarySentence]] = []
    for rank, p in enumerate(passages):
        for pos, (s_lo, s_hi) in enumerate(split_sentences(p.text)):
            text = p.text[s_lo:s_hi]
            found = {stem(t.word) for t in matches(text, terms)} if terms else set()
            coverage = len(found & wanted) / len(wanted) if wanted else 0.0
            score = coverage + 0.5 / (rank + 1)
            s = SummarySentence(text, p.number, p.start + s_lo, p.start + s_hi)
            scored.append((score, rank, pos, s))
    # Sentences with a question word win; with none anywhere (a purely semantic match), the
    # best passage's opening sentences stand in.
    relevant = [t for t in scored if t[0] > 0.5 / (t[1] + 1)]
    scored = relevant or [t for t in scored if t[1] == 0]
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    out: list[SummarySentence] = []
    seen: set[str] = set()
    for *_, s in scored:
        key = " ".join(s.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(s)
        if len(out) >= limit:
            break
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of ``text`` (at most `SENTENCE_CHARS` each, cut at a space)."""
    out = []
    for m in _SENTENCE.finditer(text):
        lo, hi = m.start(), m.end()
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi - lo > SENTENCE_CHARS:
            cut = text.rfind(" ", lo, lo + SENTENCE_CHARS)
            hi = cut if cut > lo else lo + SENTENCE_CHARS
        if hi > lo:
            out.append((lo, hi))
    return out
