"""``POST /collections/{name}/answer``: an answer card with sources (`Collection.answer`).

Same key, roles and principals as ``/search``: the passages are a search by the caller, so an
answer never holds what that caller's search could not return, and a missing or hidden collection
is the same 404. The generator is the server operator's choice, never the request's: it is set
by ``LATENTSEARCH_GENERATOR_URL`` and ``LATENTSEARCH_GENERATOR_MODEL`` (key in
``LATENTSEARCH_GENERATOR_API_KEY``) and read once per process; without them answers are
extractive. A request may ask for the extractive card only (``generate: false``).
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from latentsearch import Answer, AnswerDocument, ChatGenerator, Passage, SummarySentence
from latentsearch.server.auth import Reader
from latentsearch.server.convert import public_uri
from latentsearch.server.metrics import SEARCHES
from latentsearch.server.responses import derive
from latentsearch.server.routes_read import CollectionName
from latentsearch.server.schemas import MAX_TEXT_CHARS, Mode, OnBehalfOf, Strict
from latentsearch.server.state import State

MAX_PASSAGES = 50

router = APIRouter()


class AnswerRequest(Strict):
    """A question, answered from the ``k`` best passages the key may see."""

    question: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    k: int = Field(8, ge=1, le=MAX_PASSAGES, description="passages to answer from")
    mode: Mode = "hybrid"
    where: dict[str, Any] | None = None
    generate: bool = Field(
        True,
        description="write an answer with the server's generator when one is configured "
        "(false: the extractive card only)",
    )
    on_behalf_of: OnBehalfOf | None = None


SummarySentenceOut = derive(SummarySentence, "SummarySentenceOut")
PassageOut = derive(
    Passage, "PassageOut", start=Field(description="offset of the text in its document")
)
AnswerDocumentOut = derive(AnswerDocument, "AnswerDocumentOut")
AnswerResponse = derive(
    Answer,
    "AnswerResponse",
    doc="The best passages grouped by document, an extractive summary citing them as [n], and "
    "the generated answer when the server has a generator.",
    took_ms=(float, ...),
)


@functools.cache
def generator() -> ChatGenerator | None:
    """The process's generator, from the environment (None: answers stay extractive)."""
    return ChatGenerator.from_env()


@router.post("/collections/{name}/answer", tags=["search"], response_model=AnswerResponse)
def answer(
    name: CollectionName, body: AnswerRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Answer a question with sources: passages by document, citations, highlighted spans."""
    started = time.perf_counter()
    principals = caller.principals(body.on_behalf_of)
    state: State = request.app.state.ls
    col = state.collection(name)
    card = col.answer(
        body.question,
        body.k,
        mode=body.mode,
        where=body.where,
        principals=principals,
        generator=generator() if body.generate else None,
    )
    SEARCHES.labels("answer", body.mode).inc()
    return answer_out(card, state.db.path) | {"took_ms": round(_ms(started), 2)}


def answer_out(card: Answer, index: Path) -> dict[str, Any]:
    """The card as `AnswerResponse`, with public source URIs (never a server path)."""
    docs = []
    for d in card.documents:
        uri = public_uri(d.uri, index, (d.id,))
        passages = [
            replace(p, citation=replace(p.citation, uri=uri)) for p in d.passages
        ]  # one document, one public URI
        docs.append(replace(d, uri=uri, passages=passages))
    return {
        "question": card.question,
        "mode": card.mode,
        "summary": card.summary,
        "sentences": card.sentences,
        "documents": docs,
        "generated": card.generated,
        "generator": card.generator,
        "cited": card.cited,
    }


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
