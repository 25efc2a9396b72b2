"""`Collection.answer`: passages grouped by document, citations, extractive summary, generator.

The extractive path runs for real (the bundled text model, SQLite and PostgreSQL, FAISS). The generator is
tested against `chat_standin`, a STAND-IN for a real model server that speaks the
chat-completions wire format (no language model can run here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_standin import chat_standin
from query_support import database
from serverkit import CORPUS, ENG, ENG_SECRET, PRIVATE, SALES, SALES_SECRET

import latentsearch as ls
from latentsearch.errors import GeneratorError, InvalidInputError, InvalidTextError
from latentsearch.query.answers import split_sentences

ALICE = ["user:alice", ENG]
BOB = ["user:bob", SALES]
QUESTION = "what to do about a VPN outage"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def docs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_admin: object
) -> Iterator[ls.Collection]:
    folder = tmp_path_factory.mktemp("answers")
    with database(request.param, folder, pg_admin) as db:
        col = db.create_collection("docs", encoder="text", require_principals=True)
        long_text = (
            "Onboarding guide. "
            + "Filler sentence about nothing in particular. " * 60
            + "To reset a forgotten password, open the identity portal and choose reset. "
            + "More filler text follows here. " * 40
        )
        col.add(
            [
                *CORPUS,
                {
                    "id": "guide#2",
                    "text": long_text,
                    "chunk": {"parent": "guide", "start": 5000, "end": 5000 + len(long_text)},
                    "source": {"uri": "https://intranet.example/guide", "title": "Guide"},
                    "acl": ["*"],
                },
            ]
        )
        yield col


def _ids(card: ls.Answer) -> set[str]:
    return {p.id for p in card.passages}


def test_answer_card_groups_passages_by_document_with_citations(docs: ls.Collection) -> None:
    card = docs.answer(QUESTION, k=6, principals=ALICE)
    assert card.question == QUESTION and card.mode == "hybrid" and card.generated is None
    assert card.documents[0].id == "eng-vpn"  # the runbook is the best passage for eng
    assert card.documents[0].title == "VPN outage runbook"
    assert card.documents[0].uri == "https://wiki.example/eng/vpn"
    numbers = [p.number for p in card.passages]
    assert numbers == list(range(1, len(numbers) + 1))
    scores = [d.score for d in card.documents]
    assert scores == sorted(scores, reverse=True)
    for doc in card.documents:
        assert doc.score == doc.passages[0].score
        for p in doc.passages:
            assert p.citation.doc_id == doc.id and p.citation.item_id == p.id
            for span in p.citation.highlights:  # highlighted spans are query words
                word = p.citation.snippet[span.start : span.end].lower()
                assert word in {"vpn", "outage", "outages"}
    first = card.documents[0].passages[0]
    assert [first.citation.snippet[h.start : h.end] for h in first.citation.highlights] == [
        "VPN",
        "outage",
    ]


def test_chunk_passages_belong_to_their_parent_document(docs: ls.Collection) -> None:
    card = docs.answer("how do I submit expense receipts", k=3, principals=ALICE)
    doc = next(d for d in card.documents if d.id == "handbook")
    (p,) = doc.passages
    assert p.id == "handbook#1" and p.start == 120
    assert p.citation.start == 120 and p.citation.end == 120 + len(p.text)


def test_long_passages_are_cut_around_their_snippet(docs: ls.Collection) -> None:
    card = docs.answer("reset a forgotten password", k=2, mode="keyword", principals=ALICE)
    p = card.documents[0].passages[0]
    assert p.id == "guide#2" and len(p.text) <= 1500
    assert "forgotten password" in p.text
    assert p.start > 5000  # the window starts inside the chunk, in document offsets
    s = card.sentences[0]
    assert s.text.startswith("To reset a forgotten password")
    assert s.passage == p.number
    assert p.text[s.start - p.start : s.end - p.start] == s.text


def test_summary_is_the_highest_scoring_sentences_citing_their_passage(
    docs: ls.Collection,
) -> None:
    card = docs.answer(QUESTION, k=6, principals=BOB)
    assert card.sentences, "a question with matching words has a summary"
    assert card.summary.startswith(card.sentences[0].text)
    by_number = {p.number: p for p in card.passages}
    for s in card.sentences:
        assert f"{s.text} [{s.passage}]" in card.summary
        p = by_number[s.passage]
        assert p.text[s.start - p.start : s.end - p.start] == s.text
        assert "vpn" in s.text.lower() or "outage" in s.text.lower()
    assert card.sentences[0].text.startswith("VPN outage on sales laptops")


def test_two_callers_get_different_answers_and_no_leak(docs: ls.Collection) -> None:
    alice, bob = (docs.answer(QUESTION, k=10, principals=p) for p in (ALICE, BOB))
    assert _ids(alice).isdisjoint(PRIVATE[SALES]) and _ids(bob).isdisjoint(PRIVATE[ENG])
    assert PRIVATE[ENG] & _ids(alice) and PRIVATE[SALES] & _ids(bob)
    assert SALES_SECRET not in repr(alice).lower() and ENG_SECRET not in repr(bob).lower()
    nobody = docs.answer(QUESTION, k=10, principals=["user:nobody"])
    assert _ids(nobody) <= {"pub-holidays", "pub-vpn-mac", "handbook#1", "guide#2"}


def test_filters_and_modes_apply(docs: ls.Collection) -> None:
    card = docs.answer(QUESTION, k=10, where={"team": "it"}, principals=ALICE, mode="dense")
    assert _ids(card) == {"pub-vpn-mac"} and card.mode == "dense"
    assert docs.answer("zzzqqq", k=5, mode="keyword", principals=ALICE).documents == []


def test_bad_questions_are_refused(docs: ls.Collection) -> None:
    for bad in ("", "   ", 42, None):
        with pytest.raises(InvalidInputError):
            docs.answer(bad, principals=ALICE)  # type: ignore[arg-type]
    with pytest.raises(InvalidTextError):
        docs.answer("vpn \ud800", principals=ALICE)
    with pytest.raises(InvalidInputError):
        docs.answer(QUESTION, mode="fuzzy", principals=ALICE)


def test_sentence_split_offsets() -> None:
    text = "First one. Second one!  Third\n\nFourth without stop"
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["First one.", "Second one!", "Third", "Fourth without stop"]


def test_generator_writes_from_the_visible_passages_only(docs: ls.Collection) -> None:
    """Against the chat-completions STAND-IN (not a real model): the prompt holds the question
    and exactly the caller's numbered passages; the reply's valid [n] citations are kept."""
    os.environ["LS_TEST_GENERATOR_KEY"] = "sk-test-123"
    try:
        with chat_standin() as server:
            gen = ls.ChatGenerator(
                server.url, "stand-in-model", api_key_env="LS_TEST_GENERATOR_KEY"
            )
            card = docs.answer(QUESTION, k=10, principals=BOB, generator=gen)
            prompt = server.prompt()
            sent = server.requests[-1]
            assert server.headers[-1]["authorization"] == "Bearer sk-test-123"
    finally:
        del os.environ["LS_TEST_GENERATOR_KEY"]
    assert sent["model"] == "stand-in-model" and sent["messages"][0]["role"] == "system"
    assert card.generator == "stand-in-model"
    assert card.generated is not None and card.generated.endswith("[1] [99]")
    assert card.cited == [1]  # [99] names no passage
    for p in card.passages:
        assert f"[{p.number}] {p.citation.title}\n{p.text}" in prompt
    # Only the visible passages: none of eng's private texts, titles or words.
    assert ENG_SECRET not in prompt.lower()
    for item in CORPUS:
        if item["id"] in PRIVATE[ENG]:
            assert item["text"] not in prompt and item["source"]["title"] not in prompt
    assert prompt.count("\n[") + prompt.startswith("[") == len(card.passages)


def test_generator_failures_are_typed(docs: ls.Collection, tmp_path: Path) -> None:
    with chat_standin() as server:
        server.fail_with = 503
        gen = ls.ChatGenerator(server.url + "/chat/completions", "m")
        with pytest.raises(GeneratorError, match="HTTP 503"):
            docs.answer(QUESTION, principals=ALICE, generator=gen)
    with pytest.raises(GeneratorError, match="could not be reached"):
        docs.answer(QUESTION, principals=ALICE, generator=ls.ChatGenerator(server.url, "m"))
    with pytest.raises(InvalidInputError):
        ls.ChatGenerator("ftp://x", "m")
    assert ls.ChatGenerator.from_env({}) is None
    with pytest.raises(InvalidInputError, match="LATENTSEARCH_GENERATOR_MODEL"):
        ls.ChatGenerator.from_env({"LATENTSEARCH_GENERATOR_URL": "http://127.0.0.1:1/v1"})
