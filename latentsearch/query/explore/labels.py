"""Cluster labels: class-based TF-IDF over the members' texts, else the nearest texts, else the medoid.

Class-based TF-IDF (as in BERTopic): the texts of each cluster are joined into one document and
TF-IDF is computed across those documents, so a term scores high where it is frequent in the
cluster and rare in the others; the top terms describe what sets the cluster apart, not what
every item shares. scikit-learn's `CountVectorizer` (English stop words removed) and
`TfidfTransformer` (sublinear tf) do it. Images count through their titles or captions; a
cluster with no text at all takes the terms of the visible texts nearest its centre (``nearest``:
captions in a CLIP collection, wherever they lie), and failing those its medoid's title or id.
"""

from __future__ import annotations

import numpy as np

from latentsearch.query.explore.clusters import Grouping, by_typicality, medoids
from latentsearch.query.explore.nearest import Finder
from latentsearch.query.explore.visible import Entry, Visible
from latentsearch.results import Cluster

TERMS = 8
LABEL_TERMS = 3
MAX_CHARS = 20_000  # per member: labels need words, not whole books


def clusters_of(vis: Visible, g: Grouping, nearest: Finder | None = None) -> list[Cluster]:
    """One `Cluster` per group of ``g`` over the entries of ``vis`` (all visible, vectors read);
    ``nearest`` finds the visible texts nearest a point, for clusters without words."""
    docs = [[_words(vis.entries[int(i)]) for i in by_typicality(g, c)] for c in range(g.k)]
    terms = _ctfidf(docs)
    wordless = [c for c in range(g.k) if not terms[c]]
    if wordless and nearest is not None and vis.vectors is not None:
        centres = np.stack([vis.vectors[g.assign == c].mean(0) for c in wordless])
        for c, texts in zip(wordless, nearest(centres), strict=True):
            # nearer texts weigh more: the nearest counts len(texts) times, the next one less
            docs[c] = [t for r, t in enumerate(texts) for _ in range(len(texts) - r)]
        terms = _ctfidf(docs)  # the filled clusters against all the others
    meds = medoids(g) if g.k else np.zeros(0, np.int64)
    out = []
    for c in range(g.k):
        members = by_typicality(g, c)
        ts = terms[c]
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


def _words(e: Entry) -> str:
    """A member's words: its text and its title or caption."""
    return "\n".join(t[:MAX_CHARS] for t in (e.caption, e.text) if t)


def _ctfidf(docs: list[list[str]]) -> list[list[str]]:
    """Top terms per class, from each class's member texts (empty for a class without words).

    A term's frequency in a class is the number of members that use it (so a term shared by
    many members beats one repeated by a single member), weighed by its inverse frequency
    across classes."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    flat = [d for ds in docs for d in ds]
    if not any(d.strip() for d in flat):
        return [[] for _ in docs]
    cv = CountVectorizer(
        stop_words="english", binary=True, token_pattern=r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b"
    )
    try:
        counts = cv.fit_transform(flat)
    except ValueError:  # only stop words or one-letter tokens: no vocabulary
        return [[] for _ in docs]
    owner = np.repeat(np.arange(len(docs)), [len(ds) for ds in docs])
    classes = sparse.csr_matrix(
        (np.ones(len(flat)), (owner, np.arange(len(flat)))), shape=(len(docs), len(flat))
    )
    scores = TfidfTransformer(sublinear_tf=True).fit_transform(classes @ counts).toarray()
    vocab = cv.get_feature_names_out()
    out = []
    for row in scores:
        nz = np.flatnonzero(row > 0)
        order = nz[np.lexsort((vocab[nz], -row[nz]))][:TERMS]
        out.append([str(vocab[i]) for i in order])
    return out
