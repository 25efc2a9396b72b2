"""S4's vocabulary: up to 100k real terms, embedded once with the default model and cached.

The terms, in a fixed order (so any prefix is itself a vocabulary):

1. the 905 words of the Google analogy set (so its questions can be asked);
2. Cranfield's words (lower-cased ``[a-z]+(-[a-z]+)*`` tokens of the abstracts), most frequent first;
3. Cranfield's bigrams, then trigrams, most frequent first, until the size is reached.

(The machine has no ``/usr/share/dict``; Cranfield's 1,400 abstracts hold about 8k words, 74k
bigrams and 151k trigrams, enough for 100k distinct terms.)

Embeddings are cached under ``bench/results/cache/`` keyed by the model's fingerprint and the
terms, so reruns skip the encoder; a cached vocabulary also serves every prefix of it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import CRANFIELD, RESULTS, ROOT, Timer
from bench.cranfield import parse_smart
from latentsearch.evaluation.analogies import load_analogies, vocabulary

log = logging.getLogger("bench.s4")

CACHE = RESULTS / "cache"
TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*")


def cranfield_dir() -> Path:
    for p in (CRANFIELD, ROOT.parents[1] / "shared" / "data" / "cranfield"):
        if (p / "cran.all.1400").exists():
            return p
    raise FileNotFoundError(f"Cranfield data not found at {CRANFIELD}")


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
    """Unit vectors of ``words`` with the default model, from the cache when it has them."""
    fp = _fingerprint()
    for path in sorted(CACHE.glob(f"s4-{fp}-*.npz")):
        with np.load(path) as z:
            cached = z["terms"]
            if len(cached) >= len(words) and list(cached[: len(words)]) == words:
                log.info("embeddings of %d terms from %s", len(words), path.name)
                return np.ascontiguousarray(z["vectors"][: len(words)])
    from latentsearch.encoders import get_encoder

    with Timer() as t:
        vecs = get_encoder("text", device="cpu", batch_size=256).encode_texts(words)
    log.info("embedded %d terms in %.1f s (not part of any timing)", len(words), t.s)
    key = hashlib.sha256("\n".join(words).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    tmp = CACHE / f"s4-{fp}-{len(words)}-{key}.tmp.npz"
    np.savez(tmp, terms=np.asarray(words), vectors=vecs)
    tmp.replace(CACHE / f"s4-{fp}-{len(words)}-{key}.npz")
    return np.asarray(vecs, dtype=np.float32)


def embedded_vocabulary(n: int) -> tuple[list[str], np.ndarray]:
    """The first ``n`` terms and their vectors."""
    words = terms(n)
    return words, embed(words)
