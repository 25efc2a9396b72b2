"""Values that could not be stored, read back or compared are refused with typed errors, alike on
SQLite and PostgreSQL, before anything is written (issue 11: defects 3 and 9, and the value
cases of defect 4). `test_security_values_http.py` runs the same inputs over HTTP."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import run_json
from sqlalchemy import select

import latentsearch as ls
from latentsearch import errors
from latentsearch.query import facets as stats
from latentsearch.query.inputs import Term, unit
from latentsearch.query.rerank import explain
from latentsearch.server import keystore
from latentsearch.server.keystore import ApiKeyRow
from latentsearch.store.directions import DirectionRow
from latentsearch.store.models import CollectionRow, ItemPrincipalRow, ItemRow, VectorRow
from latentsearch.store.values import ItemValueRow

BAD_TEXT = {"surrogate": "a\ud800b", "low surrogate": "\udc00", "nul": "a\x00b"}
ENG, SALES = "group:eng", "group:sales"


def store_state(db: ls.Database) -> tuple:
    """Every row a write could touch, in a stable order (vectors as bytes)."""
    with db.store.session() as s:
        items = s.execute(
            select(
                ItemRow.id,
                ItemRow.external_id,
                ItemRow.kind,
                ItemRow.text,
                ItemRow.source_uri,
                ItemRow.source_title,
                ItemRow.parent_id,
                ItemRow.chunk_start,
                ItemRow.chunk_end,
                ItemRow.meta,
                ItemRow.content_hash,
                ItemRow.seq,
            ).order_by(ItemRow.id)
        ).all()
        return (
            [(*r[:9], repr(r[9]), *r[10:]) for r in items],
            s.execute(select(ItemPrincipalRow.item_id, ItemPrincipalRow.principal)).all(),
            sorted(s.execute(select(VectorRow.item_id, VectorRow.data)).all()),
            sorted(
                (r.item_id, r.key, r.pos, r.kind, r.num, r.txt)
                for r in s.scalars(select(ItemValueRow))
            ),
            s.execute(
                select(CollectionRow.name, CollectionRow.seq).order_by(CollectionRow.id)
            ).all(),
            s.execute(
                select(ApiKeyRow.key_id, ApiKeyRow.user, ApiKeyRow.note, ApiKeyRow.revoked)
            ).all(),
            s.execute(select(DirectionRow.name, DirectionRow.data)).all(),
        )


def reads_work(col: ls.Collection, q: Any) -> tuple:
    """Search, item reads and facets, for two groups and unrestricted; all must succeed."""
    out: list[Any] = []
    for principals in ([ENG], [SALES], None):
        out.append([(h.id, round(h.score, 5)) for h in col.search(q, k=10, principals=principals)])
        out.append([i.id for i in col.get(["d0", "d1", "d2"], principals=principals)])
        with col._space.store.session() as s:
            f = stats.facets(s, col.id, principals=principals)
        out.append({k: [(v.value, v.count) for v in vs] for k, vs in f.fields.items()})
    return tuple(out)


@pytest.fixture
def raw(db: ls.Database) -> ls.Collection:
    col = db.create_collection("raw", dim=4)
    col.add(
        vectors=np.eye(3, 4),
        ids=["d0", "d1", "d2"],
        metadata=[{"team": "eng", "n": 1}, {"team": "sales", "n": 2}, {"tags": ["x", "y"]}],
        acl=[[ENG], [SALES], ["*"]],
        sources=[{"uri": "https://a.example/0", "title": "Zero"}, None, None],
    )
    return col


def refuses(
    db: ls.Database, col: ls.Collection, cases: dict[str, Callable[[], Any]], error: type
) -> None:
    """Every case raises ``error`` (nothing untyped), and the store and every read are unchanged."""
    before, answers = store_state(db), reads_work(col, np.eye(4)[0])
    wrong = {}
    for name, call in cases.items():
        try:
            call()
        except error as exc:
            str(exc).encode("utf-8")  # the message itself can be sent back as JSON
        except Exception as exc:  # collected, to name every failing case at once
            wrong[name] = f"{type(exc).__name__}: {exc!s:.120}"
        else:
            wrong[name] = "no error"
    assert not wrong, wrong
    assert store_state(db) == before
    assert reads_work(col, np.eye(4)[0]) == answers
    assert col.verify()


# -- defect 3: text that cannot be read back is never stored ---------------------------
RECORD_FIELDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "id": lambda v: {"id": v},
    "metadata value": lambda v: {"metadata": {"team": v}},
    "nested metadata value": lambda v: {"metadata": {"a": {"b": [1, v]}}},
    "metadata key": lambda v: {"metadata": {v: 1}},
    "nested metadata key": lambda v: {"metadata": {"a": [{v: 1}]}},
    "acl entry": lambda v: {"acl": [ENG, v]},
    "source uri": lambda v: {"source": {"uri": v}},
    "source title": lambda v: {"source": {"title": v}},
    "uri shorthand": lambda v: {"uri": v},
    "chunk parent": lambda v: {"chunk": {"parent": v, "start": 0, "end": 1}},
}


def test_bad_text_in_any_stored_field_is_refused(db: ls.Database, raw: ls.Collection) -> None:
    cases: dict[str, Callable[[], Any]] = {}
    for kind, bad in BAD_TEXT.items():
        for field, make in RECORD_FIELDS.items():
            new = {"id": "new", "vector": [1.0, 1.0, 0.0, 0.0], **make(bad)}
            old = {"id": "d0", "vector": [1.0, 1.0, 0.0, 0.0], **make(bad)}
            cases[f"add {field} {kind}"] = lambda r=new: raw.add([r])
            if field != "id":
                cases[f"upsert {field} {kind}"] = lambda r=old: raw.upsert([r])
        # The column form of add, and a bad record after a good one (nothing of either is written).
        cases[f"ids= {kind}"] = lambda b=bad: raw.add(vectors=np.ones((1, 4)), ids=[b])
        cases[f"metadata= {kind}"] = lambda b=bad: raw.add(
            vectors=np.ones((1, 4)), ids=["n"], metadata=[{b: b}]
        )
        cases[f"acl= {kind}"] = lambda b=bad: raw.add(vectors=np.ones((1, 4)), ids=["n"], acl=[[b]])
        cases[f"sources= {kind}"] = lambda b=bad: raw.upsert(
            vectors=np.ones((1, 4)), ids=["d1"], sources=[{"uri": "ok", "title": b}]
        )
        cases[f"second record {kind}"] = lambda b=bad: raw.upsert(
            [{"id": "fine", "vector": [1, 2, 3, 4]}, {"id": b, "vector": [1, 2, 3, 4]}]
        )
    refuses(db, raw, cases, errors.InvalidTextError)


def test_a_bad_default_acl_is_never_stored(db: ls.Database) -> None:
    before = store_state(db)
    for kind, bad in BAD_TEXT.items():
        with pytest.raises(errors.InvalidTextError, match="default_acl entry"):
            db.create_collection(f"d-{kind.replace(' ', '-')}", dim=2, default_acl=["*", bad])
    assert store_state(db) == before and not db.collections()
    col = db.create_collection("fine", dim=2, default_acl=["group:eng"])
    col.add(vectors=[[1, 0]], ids=["a"])
    assert col.get("a").acl == ["group:eng"]


def test_error_names_the_record_and_field(raw: ls.Collection) -> None:
    with pytest.raises(errors.InvalidTextError, match=r"record 1: metadata\['a'\]\['b'\]\[0\]"):
        raw.add(
            [
                {"vector": [1, 0, 0, 0]},
                {"vector": [0, 1, 0, 0], "metadata": {"a": {"b": ["\ud800"]}}},
            ]
        )
    with pytest.raises(errors.InvalidTextError, match=r"record 0: acl entry .*NUL"):
        raw.add([{"vector": [1, 0, 0, 0], "acl": ["group:\x00"]}])


def test_reads_with_bad_text_are_typed_errors(db: ls.Database, raw: ls.Collection) -> None:
    """Ids and principals that no stored value can hold: one typed error on both databases (on
    PostgreSQL a NUL used to escape as a raw DataError, on SQLite it silently matched nothing)."""
    cases: dict[str, Callable[[], Any]] = {}
    for kind, bad in BAD_TEXT.items():
        cases[f"get one {kind}"] = lambda b=bad: raw.get(b)
        cases[f"get many {kind}"] = lambda b=bad: raw.get(["d0", b])
        cases[f"delete ids {kind}"] = lambda b=bad: raw.delete([b])
        cases[f"principals {kind}"] = lambda b=bad: raw.search([1, 0, 0, 0], principals=[ENG, b])
        cases[f"search by id {kind}"] = lambda b=bad: raw.search({"id": b})
    refuses(db, raw, cases, errors.InvalidTextError)


def test_store_sessions_turn_refused_values_into_typed_errors(db: ls.Database) -> None:
    """The last line of defence: a value the database or driver refuses inside any store session
    (here a raw query, past every check) is a typed error, never a raw DataError."""
    with pytest.raises(errors.InvalidTextError), db.store.session() as s:
        s.execute(select(ItemRow.id).where(ItemRow.external_id == "\ud800")).all()
    if db.store.dialect == "postgresql":
        with pytest.raises(errors.InvalidInputError, match="NUL"), db.store.transaction() as s:
            s.execute(select(ItemRow.id).where(ItemRow.external_id == "\x00")).all()


def nest_lists(levels: int) -> list[Any]:
    out: list[Any] = [1]
    for _ in range(levels - 1):
        out = [out]
    return out


def test_metadata_nesting_and_chunk_bounds(db: ls.Database, raw: ls.Collection) -> None:
    def nested(levels: int) -> dict[str, Any]:
        d: dict[str, Any] = {"leaf": 1}
        for _ in range(levels - 1):
            d = {"a": d}
        return d

    refuses(
        db,
        raw,
        {
            # 1000 levels made json.dumps raise RecursionError; 33 is one past the limit.
            "1000 levels": lambda: raw.add(
                [{"id": "n", "vector": [1, 1, 1, 1], "metadata": nested(1000)}]
            ),
            "33 levels": lambda: raw.add(
                [{"id": "n", "vector": [1, 1, 1, 1], "metadata": nested(33)}]
            ),
            "33 levels of lists": lambda: raw.add(
                [{"id": "n", "vector": [1, 1, 1, 1], "metadata": {"a": nest_lists(32)}}]
            ),
            "chunk start beyond 32 bits": lambda: raw.add(
                [
                    {
                        "id": "n",
                        "vector": [1, 1, 1, 1],
                        "chunk": {"parent": "p", "start": 2**40, "end": 2**40 + 1},
                    }
                ]
            ),
            "chunk parent too long": lambda: raw.add(
                [
                    {
                        "id": "n",
                        "vector": [1, 1, 1, 1],
                        "chunk": {"parent": "p" * 513, "start": 0, "end": 1},
                    }
                ]
            ),
        },
        errors.InvalidInputError,
    )
    raw.add([{"id": "deep", "vector": [1, 1, 1, 1], "metadata": nested(32)}])
    assert raw.get("deep").metadata == nested(32)
    # Integers beyond 64 bits stay storable (they compare as floats), as before.
    raw.add([{"id": "big", "vector": [1, 1, 0, 1], "metadata": {"n": 10**400, "m": 2**70}}])
    assert [h.id for h in raw.search([1, 1, 0, 1], where={"m": 2**70})] == ["big"]


def test_keys_and_directions_refuse_bad_text(db: ls.Database, raw: ls.Collection) -> None:
    with db.store.transaction() as s:
        made = keystore.create_key(s, "carol", ["eng"], "reader", note="fine")
    cases: dict[str, Callable[[], Any]] = {}
    for kind, bad in BAD_TEXT.items():

        def create(note: str = bad) -> None:
            with db.store.transaction() as s:
                keystore.create_key(s, "dave", ["eng"], "reader", note=note)

        def revoke(key_id: str = bad) -> None:
            with db.store.transaction() as s:
                keystore.revoke_key(s, key_id)

        cases[f"note {kind}"] = create
        cases[f"revoke {kind}"] = revoke
    refuses(db, raw, cases, errors.InvalidTextError)

    def user(name: str, note: str | None = None) -> None:
        with db.store.transaction() as s:
            keystore.create_key(s, name, [], "reader", note=note)

    refuses(
        db,
        raw,
        {
            "user with a trailing newline": lambda: user("erin\n"),
            "note over 500 characters": lambda: user("frank", "n" * 501),
        },
        errors.InvalidInputError,
    )
    with db.store.session() as s:
        assert keystore.authenticate(s, made.key) is not None
        assert keystore.authenticate(s, "ls_\ud800") is None


def test_text_queries_and_direction_terms(db: ls.Database) -> None:
    col = db.create_collection("docs", encoder="text")
    col.add(texts=["the cat sat", "a dog ran"], ids=["d0", "d1"])
    before = store_state(db)
    for bad in BAD_TEXT.values():
        with pytest.raises(errors.InvalidTextError):
            col.search(f"cat {bad}")
        with pytest.raises(errors.InvalidTextError):
            col.add(texts=[f"text {bad}"], ids=["t"])
    with pytest.raises(errors.InvalidTextError):  # a term text is stored with the direction
        col.direction(positive=["cat\x00"], negative=["dog"], name="catness")
    assert store_state(db) == before
    assert [h.id for h in col.search("cat", k=1)] == ["d0"]


# -- defect 4 (values): filters ----------------------------------------------------------
def nest(op: str, levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {op: leaf} if op == "$not" else {op: [leaf]}
    return leaf


FILTERS: dict[str, dict[str, Any]] = {
    "huge int": {"n": 10**400},
    "huge negative int": {"n": {"$gt": -(10**400)}},
    "huge int in $in": {"n": {"$in": [1, 10**400]}},
    "huge int in $nin": {"n": {"$nin": [10**5000]}},
    "surrogate value": {"team": "\ud800"},
    "surrogate in $in": {"team": {"$in": ["eng", "\udc00"]}},
    "surrogate $contains": {"tags": {"$contains": "x\ud800"}},
    "surrogate compare": {"team": {"$gte": "\ud800"}},
    "surrogate field": {"\ud800": 1},
    "surrogate operator": {"team": {"$eq\ud800": 1}},
    "surrogate logic key": {"$or\ud800": [{"n": 1}]},
    "nul value": {"team": "a\x00"},
    "nul in $in": {"team": {"$in": ["\x00"]}},
    "nul field": {"a\x00": 1},
    "nul id": {"id": "d0\x00"},
    "nul id $in": {"id": {"$in": ["d0", "\x00"]}},
    "nul source uri": {"source.uri": "x\x00"},
    "nul chunk parent range": {"chunk.parent": {"$gt": "\x00"}},
    "surrogate title": {"source.title": "\ud800"},
    "900 nested $not under a field": {"n": nest("$not", 900, {"$eq": 1})},
    "900 nested $not": nest("$not", 900, {"n": 1}),
    "900 nested $and": nest("$and", 900, {"n": 1}),
    "900 nested $or": nest("$or", 900, {"n": 1}),
    "33 nested $not under a field": {"n": nest("$not", 33, {"$eq": 1})},
    "33 nested $and": nest("$and", 33, {"n": 1}),
}


def test_filters_with_unusable_values_are_filter_errors(
    db: ls.Database, raw: ls.Collection
) -> None:
    cases: dict[str, Callable[[], Any]] = {}
    for name, where in FILTERS.items():
        cases[f"search {name}"] = lambda w=where: raw.search([1, 0, 0, 0], where=w)
        cases[f"delete {name}"] = lambda w=where: raw.delete(where=w)
        cases[f"strict search {name}"] = lambda w=where: raw.search(
            [1, 0, 0, 0], where=w, principals=[ENG]
        )
    refuses(db, raw, cases, errors.FilterError)


def test_filter_limits_are_exact(raw: ls.Collection) -> None:
    """32 levels are allowed (MAX_DEPTH), and every finite float or 64-bit-float-sized int works."""
    assert {h.id for h in raw.search([1, 0, 0, 0], where={"n": nest("$not", 32, {"$eq": 1})})} == {
        "d0"
    }
    assert {h.id for h in raw.search([1, 0, 0, 0], where=nest("$and", 32, {"n": 2}))} == {"d1"}
    assert raw.search([1, 0, 0, 0], where={"n": {"$lt": 10**300}})  # an int within float range
    assert not raw.search([1, 0, 0, 0], where={"n": 2**64})
    with pytest.raises(errors.FilterError, match=r"where\.n: .*finite"):
        raw.search([1, 0, 0, 0], where={"n": 10**400})
    with pytest.raises(errors.FilterError, match="at most 32 levels"):
        raw.search([1, 0, 0, 0], where={"n": nest("$not", 33, {"$eq": 1})})


# -- defect 9: vectors -------------------------------------------------------------------
def stored(col: ls.Collection, ext: str) -> np.ndarray:
    v = col.get(ext, include_vectors=True).vector
    assert v is not None
    return v


def test_huge_and_tiny_finite_vectors_keep_their_direction(db: ls.Database) -> None:
    col = db.create_collection("big", dim=8)
    direction = np.arange(1, 9, dtype=np.float64)
    expected = (direction / np.linalg.norm(direction)).astype(np.float32)
    col.add(vectors=np.full((1, 8), 3e38), ids=["full"])  # the case: stored as zeros
    col.add(vectors=(direction * 3e37).astype(np.float32)[None, :], ids=["block32"])
    col.add([{"id": "rows", "vector": list(direction * 4e37)}])
    col.add(vectors=(direction * 1e300)[None, :], ids=["f64"])  # beyond float32: scaled first
    col.add(vectors=(direction * 1e-30)[None, :], ids=["tiny"])  # squares underflow float32
    col.add([{"id": "tiny rows", "vector": list(direction * 1e-40)}])
    np.testing.assert_allclose(stored(col, "full"), np.full(8, 8**-0.5), rtol=1e-6)
    for ext in ("block32", "rows", "f64", "tiny", "tiny rows"):
        np.testing.assert_allclose(stored(col, ext), expected, rtol=1e-5, err_msg=ext)
    # Both write paths give the same bytes, so re-adding by the other path changes nothing.
    assert col.upsert([{"id": "f64", "vector": direction * 1e300}]).unchanged == 1
    assert col.upsert(vectors=np.full((1, 8), 3e38), ids=["full"]).unchanged == 1
    # Queries with such values work too, and find their own direction.
    for q in (np.full(8, 3e38, dtype=np.float32), direction * 1e300, direction * 1e-30):
        hit = col.search(q, k=1)[0]
        assert hit.score == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(
        unit(np.full(8, 3e38, dtype=np.float32)), np.full(8, 8**-0.5), rtol=1e-6
    )
    np.testing.assert_allclose(
        unit(np.full(8, 1e-40, dtype=np.float32)), np.full(8, 8**-0.5), rtol=1e-6
    )
    with pytest.raises(errors.InvalidInputError, match="zero vector"):
        col.add(vectors=np.zeros((1, 8)), ids=["zero"])


def test_similarity_explanations_survive_huge_vectors() -> None:
    """`hit.why` (and MMR) normalise stored vectors the same overflow-safe way."""
    big = np.full((2, 4), 3e38, dtype=np.float32)
    big[1, 3] = 0.0
    why = explain([Term("t", big[0])], big)
    assert why[0]["t"] == pytest.approx(1.0, abs=1e-6)
    assert why[1]["t"] == pytest.approx(3**0.5 / 2, abs=1e-6)


def test_vectors_beyond_float32_are_refused_where_magnitude_counts(db: ls.Database) -> None:
    col = db.create_collection("l2", dim=4, metric="l2")
    col.add(vectors=np.full((1, 4), 3e38, dtype=np.float32), ids=["max"])  # representable: kept
    np.testing.assert_array_equal(stored(col, "max"), np.full(4, 3e38, dtype=np.float32))
    before = store_state(db)
    for call in (
        lambda: col.add(vectors=np.full((1, 4), 1e300), ids=["x"]),
        lambda: col.add([{"id": "x", "vector": [1e39, 0, 0, 0]}]),
        lambda: col.search(np.full(4, 1e300)),
    ):
        with pytest.raises(errors.InvalidInputError, match="float32 range") as info:
            call()
        assert not isinstance(info.value, errors.NonFiniteVectorError)
    assert store_state(db) == before


@pytest.mark.parametrize(
    "bad",
    [
        np.full((1, 4), 1 + 1j),
        np.array([[1, 0, 0, 0]], dtype=np.complex64),
        np.ones((1, 4), dtype=bool),
        np.array([["1", "0", "0", "0"]]),
        np.array([[1, None, 0, 0]], dtype=object),
        np.array([[1.0, 0.0, 0.0, 0.0]], dtype=object),
    ],
    ids=["complex128", "complex64", "bool", "str", "object-None", "object-float"],
)
def test_non_real_vectors_are_refused(db: ls.Database, raw: ls.Collection, bad: np.ndarray) -> None:
    refuses(
        db,
        raw,
        {
            "vectors= array": lambda: raw.add(vectors=bad, ids=["x"]),
            "record vector": lambda: raw.add([{"id": "x", "vector": bad[0]}]),
            **(
                {}  # a list of plain floats is a fine vector
                if bad.dtype == object and None not in bad[0].tolist()
                else {"record list": lambda: raw.add([{"id": "x", "vector": bad[0].tolist()}])}
            ),
            "query": lambda: raw.search(bad[0]),
            "query batch": lambda: raw.search_vectors(bad, k=1),
        },
        errors.InvalidInputError,
    )


def test_build_reports_unstorable_names_and_records_and_indexes_the_rest(
    tmp_path: Path, database: str | None
) -> None:
    """`latentsearch build`: a file name that is not UTF-8 and records with bad text fail one by
    one with a reason (they used to abort the whole build, or be stored unreadable)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nThe quarterly report is due on Friday.\n")
    with open(os.fsencode(docs) + b"/caf\xe9.md", "wb") as f:
        f.write(b"# Cafe\n\nA menu for the week.\n")
    (docs / "records.jsonl").write_text(
        '{"id": "R-1", "text": "A valid record about invoices."}\n'
        '{"id": "R-2", "text": "lone \\ud800 surrogate"}\n'
        '{"id": "R-3", "text": "nul in metadata", "metadata": {"k": "\\u0000"}}\n'
        '{"id": "R-4\\u0000", "text": "nul in the id"}\n'
        '{"id": "R-5", "text": "Another valid record about refunds."}\n'
    )
    args = ["build", docs, "--index", tmp_path / "idx"]
    if database:
        args += ["--database", database]
    s = run_json(*args)
    reasons = {(p["path"].rsplit("/", 1)[-1], p["where"]): p["reason"] for p in s["failures"]}
    assert reasons.keys() == {
        ("caf\\xe9.md", ""),
        ("records.jsonl", "line 2"),
        ("records.jsonl", "line 3"),
        ("records.jsonl", "line 4"),
    }, reasons
    assert "not valid UTF-8" in reasons[("caf\\xe9.md", "")]
    assert all("valid Unicode" in r for k, r in reasons.items() if k[0] == "records.jsonl"), reasons
    with ls.connect(tmp_path / "idx", database=database, device="cpu") as db:
        col = db.collection("default")
        assert sorted(i.id for i in col.get(["good.md", "R-1", "R-5"])) == ["R-1", "R-5", "good.md"]
        assert len(col) == 3 and col.verify()
        assert [h.id for h in col.search("refunds", k=1)] == ["R-5"]
