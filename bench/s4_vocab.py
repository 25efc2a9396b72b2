"""S4's vocabulary: up to 100k real terms, embedded once with the default model and cached.

The terms, in a fixed order (so any prefix is itself a vocabulary):

1. the 905 words of the Google analogy set (so its questions can be asked);
2. Cranfield's words (lower-cased ``[a-z]+(-[a-z]+)*`` tokens of the abstracts), most frequent first;
3. Cranfield's bigrams, then trigrams, most frequent first, until the size is reached.

(The machine has no ``/usr/share/dict``; Cranfield's 1,400 abstracts hold about 8k words, 74k
bigrams and 151k trigrams, enough for 100k distinct terms.)

Embeddings are cached under ``bench/results/cache/`` in blocks of 10k terms, keyed by the model's
fingerprint and the block's terms, so reruns skip the encoder.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CRANFIELD, RESULTS, Timer
from bench.cranfield import parse_smart
from latentsearch.testing.analogies import load_analogies, vocabulary

log = logging.getLogger("bench.s4")

CACHE = RESULTS / "cache"
BLOCK = 10_000
TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*")


def cranfield_dir() -> Path:
    return CRANFIELD  # vendored in the repository


def terms(n: int) -> list[str]:
    """The first ``n`` terms of the vocabulary (see the module docstring)."""
    out = vocabulary(load_analogies())
    seen = set(out)
    grams: list[Counter[str]] = [Counter(), Counter(), Counter()]
    for doc in parse_smart(cranfield_dir() / "cran.all.1400"):
        words = TOKEN.findall(doc.get("W", "").lower())
        for size, counter in enumerate(grams, 1):
            counter.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    for counter in grams:
        for term, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(out) >= n:
                return out
            if term not in seen:
                seen.add(term)
                out.append(term)
    if len(out) < n:
        raise ValueError(f"only {len(out)} distinct terms available, {n} asked")
    return out


def _fingerprint() -> str:
    from latentsearch.encoders.st import bundled_text_model, fingerprint

    return fingerprint(bundled_text_model())[:16]


def embed(words: list[str]) -> np.ndarray:
    """Unit vectors of ``words`` with the default model, cached in blocks of `BLOCK` terms (so an
    interrupted run resumes, and a vocabulary's prefixes share its blocks)."""
    fp = _fingerprint()
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    parts = []
    for start in range(0, len(words), BLOCK):
        block = words[start : start + BLOCK]
        key = hashlib.sha256("\n".join(block).encode()).hexdigest()[:16]
        path = CACHE / f"s4-{fp}-{key}.npy"
        if path.exists():
            parts.append(np.load(path))
            continue
        with Timer() as t:
            vecs = np.asarray(_encoder().encode_texts(block), dtype=np.float32)
        log.info("embedded terms %d-%d in %.1f s (not timed)", start, start + len(block), t.s)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vecs)
        tmp.replace(path)
        parts.append(vecs)
    return np.ascontiguousarray(np.concatenate(parts))


@cache
def _encoder() -> Any:
    from latentsearch.encoders import get_encoder

    return get_encoder("text", device="cpu", batch_size=256)


def embedded_vocabulary(n: int) -> tuple[list[str], np.ndarray]:
    """The first ``n`` terms and their vectors."""
    words = terms(n)
    return words, embed(words)
