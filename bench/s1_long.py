"""S1L: S1 with long queries: Cranfield abstracts as queries, and the query encoder's GFLOP/s.

    PYTHONPATH=. python -m bench.s1_long [--quick] [--systems ours,txtai,...]

``--quick`` asks the first `QUICK_QUERIES` abstracts only, and (as S1's quick run) lets the
peers ingest and search the first 200 documents only, so their nDCG@10 is not measured there.

The same systems, documents and model as S1 (`bench.s1_cranfield`, which this runs with
``--long``). The queries are the first `N_QUERIES` non-empty Cranfield documents (title + abstract:
~60 words to ~250 tokens, about what a support ticket is), each searching the whole collection.
Relevance, with Cranfield's gains (4 best .. 1):

* the document itself, gain 4;
* its judged neighbours: every document judged relevant to a Cranfield query that also judges
  this one relevant, with gain ``min(gain(q, this), gain(q, other))`` (the weaker of the two
  links), the best over such queries.

So a query is answered well when it finds itself and the documents the assessors put beside it.
Documents no query judges have only themselves. nDCG@10 is scored against that; the fp32
reference is the floor row (sentence-transformers float32 + exact FAISS), measured in the same run.

Per system: query p50/p95 (one query at a time, text in, k=10 hits with content out), the
encoder's p50 alone (the system's own embedding call, uncached) and its share of the query
(sum of encode times ÷ sum of query times). For ours, the achieved GFLOP/s of the query encoder:
the model's FLOPs (`flops`) over the encode times, against S6's measured sgemm limit
(`bench.s6_limits`, measured in this run before the systems).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

N_QUERIES = 200
QUICK_QUERIES = 50  # --quick: the first 50 abstracts (a peer's 200 torch encodes take minutes)
LAYERS, HIDDEN, FFN = 6, 384, 1536  # all-MiniLM-L6-v2


def flops(tokens: int) -> float:
    """Multiply-adds × 2 of one MiniLM-L6 forward pass over ``tokens`` tokens (batch of one).

    Per layer: Q, K, V and output projections ``4·2·L·h²``, the FFN ``2·2·L·h·f``, and attention
    scores and weighted values ``2·2·L²·h``. Embeddings, LayerNorm, softmax, GELU and pooling
    are O(L·h) and left out (under 1%).
    """
    per_layer = 8 * tokens * HIDDEN**2 + 4 * tokens * HIDDEN * FFN + 4 * tokens**2 * HIDDEN
    return float(LAYERS * per_layer)


def long_queries(docs: list[dict[str, str]], n: int = N_QUERIES) -> list[dict[str, str]]:
    return [{"id": d["id"], "text": d["text"]} for d in docs[:n]]


def long_qrels(
    queries: list[dict[str, str]], judgements: Iterable[tuple[str, str, int]]
) -> dict[str, dict[str, float]]:
    """Each long query's relevant documents and gains (see the module docstring)."""
    by_query: dict[str, dict[str, int]] = {}
    for qid, did, g in judgements:
        if g > 0:
            by_query.setdefault(qid, {})[did] = g
    out: dict[str, dict[str, float]] = {}
    for q in queries:
        me = q["id"]
        rel: dict[str, float] = {me: 4.0}
        for judged in by_query.values():
            if me not in judged:
                continue
            for other, g in judged.items():
                if other != me:
                    rel[other] = max(rel.get(other, 0.0), float(min(judged[me], g)))
        out[me] = rel
    return out


def token_counts(model: Path, texts: list[str], max_len: int = 256) -> list[int]:
    """Tokens per text as the model sees it (its own tokenizer, truncated at ``max_len``)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return [len(e.ids) for e in tok.encode_batch(texts)]


def main() -> None:
    from bench import s1_cranfield

    sys.argv = [sys.argv[0], "--long", *sys.argv[1:]]
    s1_cranfield.main()


if __name__ == "__main__":
    main()
