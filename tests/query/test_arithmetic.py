"""Analogies, recommendations, expressions, MMR, per-document grouping and ``hit.why``, checked
against independent numpy implementations of each formula."""

from __future__ import annotations

import numpy as np
import pytest
from query_support import unit

import latentsearch as ls
from latentsearch.errors import ExpressionError
from latentsearch.query.expressions import parse

WORDS = [
    "king",
    "queen",
    "man",
    "woman",
    "prince",
    "princess",
    "boy",
    "girl",
    "father",
    "mother",
    "son",
    "daughter",
    "uncle",
    "aunt",
    "paris",
    "france",
    "berlin",
    "germany",
    "rome",
    "italy",
    "madrid",
    "spain",
    "tokyo",
    "japan",
    "apple",
    "banana",
    "cherry",
    "car",
    "bus",
    "train",
    "red",
    "green",
    "blue",
    "happy",
    "sad",
    "big",
    "small",
]


@pytest.fixture
def words(db: ls.Database) -> ls.Collection:
    col = db.create_collection("words", encoder="text")
    col.add(
        texts=WORDS,
        ids=WORDS,
        metadata=[
            {"i": i, "fruit": w in ("apple", "banana", "cherry")} for i, w in enumerate(WORDS)
        ],
    )
    return col


def _matrix(col: ls.Collection) -> np.ndarray:
    return np.stack([it.vector for it in col.get(WORDS, include_vectors=True)])


def _rank(scores: np.ndarray, exclude: set[str], k: int) -> list[tuple[str, float]]:
    order = [i for i in np.argsort(-scores, kind="stable") if WORDS[i] not in exclude]
    return [(WORDS[i], float(scores[i])) for i in order[:k]]


def _same(hits, expected, tol=1e-5) -> None:
    assert len(hits) == len(expected)
    for h, (w, sc) in zip(hits, expected, strict=True):
        assert h.score == pytest.approx(sc, abs=tol)
        if h.id != w:  # only an exact tie may swap places
            assert sc == pytest.approx(dict(expected).get(h.id, -9), abs=tol)


@pytest.mark.parametrize(
    ("pos", "neg", "weights"),
    [
        (["king", "woman"], ["man"], None),
        (["paris", "germany"], ["france"], [1.0, 2.0, 0.5]),
        (["apple"], [], None),
        (["tokyo", "italy", "happy"], ["japan", "sad"], None),
    ],
)
def test_3cosadd_is_the_normalised_weighted_mean(words: ls.Collection, pos, neg, weights) -> None:
    X = _matrix(words)
    w = weights or [1.0] * (len(pos) + len(neg))
    signed = w[: len(pos)] + [-x for x in w[len(pos) :]]
    mean = sum(s * X[WORDS.index(t)] for s, t in zip(signed, pos + neg, strict=True)) / sum(
        abs(x) for x in w
    )
    expect = _rank(X @ unit(mean), set(pos + neg), 8)
    _same(words.analogy(pos, neg, k=8, weights=weights), expect)


@pytest.mark.parametrize(
    ("pos", "neg", "weights"),
    [
        (["king", "woman"], ["man"], None),
        (["paris", "germany"], ["france"], [1.0, 2.0, 0.5]),
        (["blue"], [], None),
        (["rome", "spain"], ["italy", "red"], None),
    ],
)
def test_3cosmul_is_levy_goldberg_with_gensim_epsilon(
    words: ls.Collection, pos, neg, weights
) -> None:
    X = _matrix(words)
    w = weights or [1.0] * (len(pos) + len(neg))
    shifted = {t: (1 + X @ X[WORDS.index(t)]) / 2 for t in pos + neg}
    num = np.prod([shifted[t] ** w[i] for i, t in enumerate(pos)], axis=0)
    den = (
        np.prod([shifted[t] ** w[len(pos) + i] for i, t in enumerate(neg)], axis=0) if neg else 1.0
    )
    expect = _rank(num / (den + 1e-6), set(pos + neg), 8)
    _same(words.analogy(pos, neg, k=8, method="3cosmul", weights=weights), expect)


def test_inputs_are_excluded_unless_asked(words: ls.Collection) -> None:
    assert not {"king", "man", "woman"} & {
        h.id for h in words.analogy(["king", "woman"], ["man"], k=10)
    }
    kept = words.analogy(["king", "woman"], ["man"], k=len(WORDS), exclude_inputs=False)
    assert {"king", "man", "woman"} <= {h.id for h in kept}
    assert not {"king", "man"} & {h.id for h in words.query("king - man", k=len(WORDS))}
    assert "king" in {h.id for h in words.query("king - man", k=len(WORDS), exclude_inputs=False)}


def test_terms_may_be_text_vectors_and_items(words: ls.Collection) -> None:
    v = words.embed_query("a crowned ruler")
    hits = words.analogy([v, {"text": "female"}], [{"id": "man"}], k=5)
    X = _matrix(words)
    mean = unit(v + words.embed_query("female") - X[WORDS.index("man")])
    _same(hits, _rank(X @ mean, {"man"}, 5))
    assert set(hits[0].why) == {"<vector>", "female", "@man"}


def test_analogy_respects_filters(words: ls.Collection) -> None:
    hits = words.analogy(["king", "woman"], ["man"], k=3, where={"fruit": True})
    assert {h.id for h in hits} == {"apple", "banana", "cherry"}
    batch = words.analogy_batch(
        [(["king", "woman"], ["man"]), {"positive": ["paris", "germany"], "negative": ["france"]}],
        k=2,
    )
    assert [h.id for h in batch[0]] == [
        h.id for h in words.analogy(["king", "woman"], ["man"], k=2)
    ]
    assert [h.id for h in batch[1]] == [
        h.id for h in words.analogy(["paris", "germany"], ["france"], k=2)
    ]


@pytest.mark.parametrize("strategy", ["average_vector", "best_score", "sum_scores"])
def test_recommend_strategies_match_qdrant_formulas(words: ls.Collection, strategy) -> None:
    X = _matrix(words)
    pos, neg = ["apple", "banana"], ["car"]
    P, N = X[[WORDS.index(t) for t in pos]], X[[WORDS.index(t) for t in neg]]
    if strategy == "average_vector":
        avg = P.mean(0)
        scores = X @ unit(avg + (avg - N.mean(0)))
    elif strategy == "best_score":
        bp, bn = (X @ P.T).max(1), (X @ N.T).max(1)
        scores = np.where(bp > bn, bp, -(bn**2))
    else:
        scores = (X @ P.T).sum(1) - (X @ N.T).sum(1)
    _same(words.recommend(pos, neg, k=6, strategy=strategy), _rank(scores, set(pos + neg), 6))


# -- expressions ------------------------------------------------------------------------------------
def _terms(expr: str) -> list[tuple[str, object, float]]:
    return [(t.spec.kind, t.spec.value, t.weight) for t in parse(expr).terms]


@pytest.mark.parametrize(
    ("expr", "terms"),
    [
        (
            "king - man + woman",
            [("word", "king", 1.0), ("word", "man", -1.0), ("word", "woman", 1.0)],
        ),
        ('"sunny beach" - "people"', [("text", "sunny beach", 1.0), ("text", "people", -1.0)]),
        (
            '0.7 * "formal tone" + @ticket-123',
            [("text", "formal tone", 0.7), ("id", "ticket-123", 1.0)],
        ),
        (
            'image:photos/red_car.jpg - "red" + "blue"',
            [
                ("image", "photos/red_car.jpg", 1.0),
                ("text", "red", -1.0),
                ("text", "blue", 1.0),
            ],
        ),
        ("vec:sunny", [("direction", "sunny", 1.0)]),
        ("a + 2 * b - c / 4", [("word", "a", 1.0), ("word", "b", 2.0), ("word", "c", -0.25)]),
        ("-(a - b) * 3", [("word", "a", -3.0), ("word", "b", 3.0)]),
        ("2 * (a + b) * 0.5", [("word", "a", 1.0), ("word", "b", 1.0)]),
        ("a - -b", [("word", "a", 1.0), ("word", "b", 1.0)]),
        ("1e-1*a + .5*b", [("word", "a", 0.1), ("word", "b", 0.5)]),
        ("a + a - b + b + c", [("word", "a", 2.0), ("word", "c", 1.0)]),
        ("(a)", [("word", "a", 1.0)]),
        ("image:@cat-7 - @dog", [("id", "cat-7", 1.0), ("id", "dog", -1.0)]),
        ('image:"@doc 7"', [("id", "doc 7", 1.0)]),
        (
            """@"doc 7" + image:'my pics/x.png' + vec:"my dir" + 'it\\'s'""",
            [
                ("id", "doc 7", 1.0),
                ("image", "my pics/x.png", 1.0),
                ("direction", "my dir", 1.0),
                ("text", "it's", 1.0),
            ],
        ),
        (
            "New_York + don't + ünïcode",
            [("word", "New_York", 1.0), ("word", "don't", 1.0), ("word", "ünïcode", 1.0)],
        ),
        ('king + "king"', [("word", "king", 1.0), ("text", "king", 1.0)]),
    ],
)
def test_grammar(expr, terms) -> None:
    got = _terms(expr)
    assert [(k, v) for k, v, _ in got] == [(k, v) for k, v, _ in terms]
    assert [w for *_, w in got] == pytest.approx([w for *_, w in terms])


@pytest.mark.parametrize(
    ("expr", "column", "words_"),
    [
        ("", 1, "empty"),
        ("   ", 1, "empty"),
        ('"unterminated', 1, "unterminated"),
        ('king + "abc', 8, "unterminated"),
        ("king +", 7, "ends too early"),
        ("king * man", 6, "cannot be multiplied"),
        ("2 + king", 3, "cannot add a number"),
        ("(king - man", 1, "missing ')'"),
        ("king)", 5, "unbalanced"),
        ("king man", 6, "quote multi-word"),
        ("foo:bar", 1, "unknown prefix"),
        ("@", 1, "needs a value"),
        ("king $ man", 6, "unexpected character"),
        ("3 * 4", 1, "only numbers"),
        ("king - king", 1, "cancel out"),
        ("1e999 * king", 1, "out of range"),
        ("king / 0", 6, "division by zero"),
        ("king / man", 6, "divide by a number"),
        ("2king", 2, "followed by an operator"),
        ('""', 1, "empty quoted"),
        ("1.2.3 * a", 1, "malformed number"),
        ("a * 1e300 * 1e300", 11, "overflows"),
    ],
)
def test_parse_errors_point_at_the_column(expr, column, words_) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(expr)
    assert err.value.column == column, str(err.value)
    assert words_ in str(err.value)
    assert f"(column {column})" in str(err.value)


def test_query_equals_analogy_and_explains_itself(words: ls.Collection) -> None:
    q = words.query("king - man + woman", k=5)
    a = words.analogy(["king", "woman"], ["man"], k=5)
    assert [h.id for h in q] == [h.id for h in a]
    assert [h.score for h in q] == pytest.approx([h.score for h in a], abs=1e-5)
    X = _matrix(words)
    for h in q:
        v = X[WORDS.index(h.id)]
        assert h.why == pytest.approx(
            {t: float(v @ X[WORDS.index(t)]) for t in ("king", "man", "woman")}, abs=1e-5
        )
    assert words.search("queen", k=1)[0].why is None


def test_weights_and_text_in_expressions(words: ls.Collection) -> None:
    X = _matrix(words)
    hits = words.query('0.5 * "royal family" + 2 * girl - (boy)', k=4)
    v = unit(
        0.5 * words.embed_query("royal family") + 2 * X[WORDS.index("girl")] - X[WORDS.index("boy")]
    )
    _same(hits, _rank(X @ v, {"girl", "boy"}, 4))
    assert set(hits[0].why) == {"royal family", "girl", "boy"}


# -- MMR and per-document grouping ------------------------------------------------------------------
def _mmr_reference(rel: np.ndarray, V: np.ndarray, k: int, lam: float) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < min(k, len(rel)):
        best, best_score = -1, -np.inf
        for i in range(len(rel)):
            if i in chosen:
                continue
            red = max((float(V[i] @ V[j]) for j in chosen), default=0.0)
            score = lam * rel[i] - (1 - lam) * red
            if score > best_score:
                best, best_score = i, score
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7])
def test_mmr_matches_the_greedy_definition(db: ls.Database, lam) -> None:
    col = db.create_collection("dups", dim=4)
    rng = np.random.default_rng(0)
    base = unit(rng.normal(size=(5, 4)))
    x = unit(
        np.repeat(base, 6, axis=0) + 0.05 * rng.normal(size=(30, 4))
    )  # 5 clusters of near-duplicates
    col.add(vectors=x, ids=[f"x{i}" for i in range(30)])
    q = unit(base[0] + 0.3 * base[1])
    plain = col.search(q, k=30)
    assert [h.id for h in col.search(q, k=5, mmr=1.0)] == [h.id for h in plain[:5]]
    pool = plain[:20]  # the planner's pool: max(4k, 20)
    V = x[[int(h.id[1:]) for h in pool]]
    expect = [pool[i].id for i in _mmr_reference(np.array([h.score for h in pool]), V, 5, lam)]
    got = col.search(q, k=5, mmr=lam)
    assert [h.id for h in got] == expect
    if lam < 0.5:
        assert len({int(h.id[1:]) // 6 for h in got}) > len({int(h.id[1:]) // 6 for h in plain[:5]})


def test_mmr_in_expressions(words: ls.Collection) -> None:
    plain = words.query("king + queen", k=6)
    diverse = words.query("king + queen", k=6, mmr=0.2)
    assert len(diverse) == 6 and {h.id for h in diverse} != {h.id for h in plain}


def test_per_document_returns_k_distinct_documents(db: ls.Database) -> None:
    col = db.create_collection("chunks", dim=4)
    rng = np.random.default_rng(1)
    q = unit(np.array([1.0, 0.0, 0.0, 0.0]))
    recs = []
    for i in range(12):  # doc-0 holds the 12 chunks closest to the query
        recs.append(
            {
                "id": f"doc-0#{i}",
                "vector": q + 0.01 * rng.normal(size=4),
                "chunk": {"parent": "doc-0", "start": i, "end": i + 1},
            }
        )
    for d in range(1, 8):
        for i in range(3):
            recs.append(
                {
                    "id": f"doc-{d}#{i}",
                    "vector": unit(rng.normal(size=4)) + 0.2 * q,
                    "chunk": {"parent": f"doc-{d}", "start": i, "end": i + 1},
                }
            )
    recs.append({"id": "solo", "vector": rng.normal(size=4)})
    col.add(recs)
    hits = col.search(q, k=5, per_document=True)
    docs = [h.chunk.parent if h.chunk else h.id for h in hits]
    assert len(docs) == len(set(docs)) == 5 and docs[0] == "doc-0"
    # brute force: best chunk of each document, documents by that score
    everything = col.search(q, k=len(recs))
    best: dict[str, tuple[str, float]] = {}
    for h in everything:
        best.setdefault(h.chunk.parent if h.chunk else h.id, (h.id, h.score))
    expect = sorted(best.items(), key=lambda kv: -kv[1][1])[:5]
    assert [h.id for h in hits] == [v[0] for _, v in expect]
    assert len(col.search(q, k=50, per_document=True)) == 9  # 8 documents + "solo"
