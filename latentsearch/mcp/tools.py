"""What each MCP tool does, as plain functions of an open `Database` and the caller's principals.

Every tool goes through the public API with the caller's principals, so an agent sees exactly
what its key sees over HTTP: nothing hidden is returned, counted or named, and a hidden item or
collection is answered with the same message as a missing one. Every result carries a citation
(document, title, URI, snippet and its offsets, highlighted spans). URIs are shown as the HTTP
API shows them: never a server path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentsearch import Answer, Citation, Collection, Database, Hit, Item
from latentsearch.checks import check_text
from latentsearch.errors import CollectionNotFoundError, InvalidInputError
from latentsearch.query.citations import cite
from latentsearch.server.convert import public_uri
from latentsearch.server.routes_read import positive_text

TEXT_CHARS = 1_000  # a result's text as shown to an agent (fetch gives up to FETCH_CHARS)
FETCH_CHARS = 20_000
MAX_K = 50


@dataclass(frozen=True, slots=True)
class Tools:
    """The tools over ``db``; ``only`` restricts them to one collection (``--collection``)."""

    db: Database
    only: str | None = None

    def list_collections(self, principals: list[str]) -> dict[str, Any]:
        out = []
        for info in self.db.collections():
            if self.only is not None and info.name != self.only:
                continue
            col = self.db.collection(info.name)
            out.append(
                {
                    "name": info.name,
                    "items": col.count(principals=principals),  # the caller's, like HTTP
                    "modalities": list(info.encoder.modalities) if info.encoder else ["vector"],
                    "dim": info.dim,
                }
            )
        return {"collections": out}

    def collection(self, name: str | None) -> Collection:
        """The named collection (or the only one served); unknown and hidden names alike get
        one message that names nothing else."""
        names = [i.name for i in self.db.collections() if self.only in (None, i.name)]
        if name is None:
            if len(names) != 1:
                raise InvalidInputError(
                    "name a collection (the list_collections tool shows the ones you can use)"
                )
            name = names[0]
        if not isinstance(name, str):
            raise InvalidInputError("the collection must be a name (a string)")
        check_text(name, "the collection name")  # no NUL or lone surrogate gets further
        if name not in names:
            raise CollectionNotFoundError(
                f"no collection named {name!r}; the list_collections tool shows the ones you can use"
            )
        col = self.db.collection(name)
        try:
            col.sync()
        except CollectionNotFoundError:  # dropped and re-created by another process
            col = self.db.reopen(name)
        return col

    def search(
        self,
        principals: list[str],
        query: str,
        collection: str | None,
        k: int,
        mode: str,
        where: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        col = self.collection(collection)
        hits = col.search(
            query, _k(k), mode=mode, where=where, principals=principals, allow_paths=False
        )
        return {"collection": col.name, "mode": mode, "results": self.hits(hits, query)}

    def query(
        self,
        principals: list[str],
        expression: str,
        collection: str | None,
        k: int,
        where: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        col = self.collection(collection)
        hits = col.query(expression, _k(k), where=where, principals=principals, allow_paths=False)
        # Highlight the terms that are added, as the HTTP API does, not the subtracted ones.
        return {"collection": col.name, "results": self.hits(hits, positive_text(expression))}

    def analogy(
        self,
        principals: list[str],
        positive: Sequence[str],
        negative: Sequence[str],
        collection: str | None,
        k: int,
        method: str,
    ) -> dict[str, Any]:
        col = self.collection(collection)
        hits = col.analogy(
            list(positive),
            list(negative),
            _k(k),
            method=method,
            principals=principals,
            allow_paths=False,
        )
        return {"collection": col.name, "results": self.hits(hits, " ".join(positive))}

    def fetch(self, principals: list[str], id: str, collection: str | None) -> dict[str, Any]:
        col = self.collection(collection)
        item = col.get(id, principals=principals)  # hidden == missing: ItemNotFoundError
        return {"collection": col.name, "item": self.item(item)}

    def answer(
        self,
        principals: list[str],
        question: str,
        collection: str | None,
        k: int,
        mode: str,
        where: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        col = self.collection(collection)
        card = col.answer(question, _k(k), mode=mode, where=where, principals=principals)
        return {"collection": col.name, **self.card(card)}

    # -- shapes ----------------------------------------------------------------------------
    @property
    def index(self) -> Path:
        return self.db.path

    def citation(self, c: Citation, docs: tuple[str, ...]) -> dict[str, Any]:
        return {
            "document": c.doc_id,
            "item": c.item_id,
            "title": c.title,
            "uri": public_uri(c.uri, self.index, docs),
            "snippet": c.snippet,
            "start": c.start,
            "end": c.end,
            "highlights": [[s.start, s.end] for s in c.highlights],
        }

    def hits(self, hits: list[Hit], text: str | None) -> list[dict[str, Any]]:
        return [
            {
                "id": h.id,
                "score": round(float(h.score), 6),
                "kind": h.kind,
                "text": _cut(h.text, TEXT_CHARS) if h.kind == "text" else None,
                "metadata": h.metadata,
                "citation": self.citation(cite(h, text), _docs(h.id, h.chunk)),
            }
            for h in hits
        ]

    def item(self, item: Item) -> dict[str, Any]:
        text = item.text if item.kind == "text" else None
        doc = item.chunk.parent if item.chunk else item.id
        start = item.chunk.start if item.chunk else 0
        shown = _cut(text, FETCH_CHARS)
        return {
            "id": item.id,
            "kind": item.kind,
            "text": shown,
            "text_truncated": text is not None and len(text) > FETCH_CHARS,
            "metadata": item.metadata,
            "source": {
                "title": item.source.title,
                "uri": public_uri(item.source.uri, self.index, _docs(item.id, item.chunk)),
            },
            "chunk": (
                {"parent": item.chunk.parent, "start": item.chunk.start, "end": item.chunk.end}
                if item.chunk
                else None
            ),
            "citation": {
                "document": doc,
                "item": item.id,
                "title": item.source.title,
                "uri": public_uri(item.source.uri, self.index, _docs(item.id, item.chunk)),
                "snippet": _cut(shown, 240),
                "start": start,
                "end": start + len(shown or ""),
                "highlights": [],
            },
        }

    def card(self, card: Answer) -> dict[str, Any]:
        return {
            "question": card.question,
            "summary": card.summary,
            "sentences": [
                {"text": s.text, "passage": s.passage, "start": s.start, "end": s.end}
                for s in card.sentences
            ],
            "documents": [
                {
                    "document": d.id,
                    "title": d.title,
                    "uri": public_uri(d.uri, self.index, (d.id,)),
                    "score": round(d.score, 6),
                    "passages": [
                        {
                            "number": p.number,
                            "id": p.id,
                            "text": p.text,
                            "score": round(p.score, 6),
                            "citation": self.citation(p.citation, (d.id, p.id)),
                        }
                        for p in d.passages
                    ],
                }
                for d in card.documents
            ],
        }


def _k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
    return k


def _cut(text: str | None, n: int) -> str | None:
    return text if text is None or len(text) <= n else text[:n]


def _docs(item_id: str, chunk: Any) -> tuple[str, ...]:
    return (chunk.parent, item_id) if chunk is not None else (item_id,)
