"""Shared by the connector tests: count what a sync costs in encoding.

A module of its own (not conftest.py): pytest names every conftest.py "conftest", so a test
that imports from one gets whichever was imported first."""

from __future__ import annotations

import latentsearch as ls


class Counting:
    """Counts the texts the collection's (real) encoder embeds."""

    def __init__(self, col: ls.Collection) -> None:
        self.texts = 0
        enc = col.encoder
        original = enc.encode_texts

        def encode_texts(texts, **kw):  # type: ignore[no-untyped-def]
            self.texts += len(texts)
            return original(texts, **kw)

        enc.encode_texts = encode_texts  # type: ignore[method-assign]
