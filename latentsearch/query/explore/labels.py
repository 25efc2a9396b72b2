"""Cluster labels: class-based TF-IDF over the members' texts, else the nearest texts, else the medoid.

Class-based TF-IDF (as in BERTopic): the texts of each cluster are joined into one document and
TF-IDF is computed across those documents, so a term scores high where it is frequent in the
cluster and rare in the others; the top terms describe what sets the cluster apart, not what
every item shares. scikit-learn's `CountVectorizer` (English stop words removed) and
`TfidfTransformer` (sublinear tf) do it. Images count through their titles or captions; a
cluster with no text at all takes the terms of the visible texts nearest its centre (a CLIP
collection with captions), and failing those its medoid's title or id.
"""

from __future__ import annotations

import numpy as np

from latentsearch.query.explore.clusters import Grouping, by_typicality, medoids
from latentsearch.query.explore.visible import Visible
from latentsearch.results import Cluster

TERMS = 8
LABEL_TERMS = 3
NEAREST_TEXTS = 3
MAX_CHARS = 20_000  # per member: labels need words, not whole books


def clusters_of(vis: Visible, g: Grouping) -> list[Cluster]:
    """One `Cluster` per group of ``g`` over the entries of ``vis`` (all visible)."""
    docs = [_words(vis, by_typicality(g, c)) for c in range(g.k)]
    terms = _ctfidf(docs)
    meds = medoids(g) if g.k else np.zeros(0, np.int64)
    out = []
    for c in range(g.k):
        members = by_typicality(g, c)
        ts = terms[c] or _nearest_text_terms(vis, g, c, terms)
        med = vis.entries[int(meds[c])]
        label = ", ".join(ts[:LABEL_TERMS]) if ts else (med.title or med.id)
        out.append(
            Cluster(
                id=c,
                label=label,
                terms=tuple(ts),
                size=len(members),
                medoid=med.id,
                ids=tuple(vis.entries[int(i)].id for i in members),
            )
        )
    return out


def _words(vis: Visible, rows: np.ndarray) -> str:
    parts = []
    for i in rows:
        e = vis.entries[int(i)]
        for t in (e.text, e.caption if e.kind != "text" else None):
            if t:
                parts.append(t[:MAX_CHARS])
    return "\n".join(parts)


def _ctfidf(docs: list[str]) -> list[list[str]]:
    """Top terms per class document (empty for a class without words)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    if not any(d.strip() for d in docs):
        return [[] for _ in docs]
    cv = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b")
    try:
        counts = cv.fit_transform(docs)
    except ValueError:  # only stop words or one-letter tokens: no vocabulary
        return [[] for _ in docs]
    scores = TfidfTransformer(sublinear_tf=True).fit_transform(counts).toarray()
    vocab = cv.get_feature_names_out()
    out = []
    for row in scores:
        nz = np.flatnonzero(row > 0)
        order = nz[np.lexsort((vocab[nz], -row[nz]))][:TERMS]
        out.append([str(vocab[i]) for i in order])
    return out


def _nearest_text_terms(vis: Visible, g: Grouping, c: int, terms: list[list[str]]) -> list[str]:
    """Terms of the visible texts nearest cluster ``c``'s centre (for a cluster of images)."""
    texts = np.asarray([i for i, e in enumerate(vis.entries) if e.text], dtype=np.int64)
    if not len(texts):
        return []
    d = ((g.x[texts] - g.centres[c]) ** 2).sum(1)
    nearest = texts[np.lexsort((texts, d))][:NEAREST_TEXTS]
    return _ctfidf([_words(vis, nearest), *[" ".join(t) for t in terms]])[0]
