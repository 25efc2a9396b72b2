"""The hostile-input catalogue: input -> the typed error (Python API), exit code (CLI), status (HTTP).

Pure data; `test_hostile_inputs.py` runs every entry against the Python API, the CLI and a real
app, and checks that the store is unchanged afterwards. Fixture files are named, not built, here:
``File("fifo")`` is a path the runner makes (see ``FILES`` there), ``{fifo}`` the same path inside
a string, ``Vec(...)`` a numpy vector and ``ZERO_IMAGE`` a 0x0 PIL image.

Collections: ``docs`` (text encoder), ``raw`` (8-d vectors, cosine) and ``photos`` (a tiny CLIP).
``defect`` names the defect of issue 11 an entry covers ("" for older checks kept here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from latentsearch.errors import (
    DimensionMismatchError,
    DirectionNotFoundError,
    DuplicateIdError,
    EmptyTextError,
    ExpressionError,
    FilterError,
    ImageError,
    InvalidInputError,
    InvalidTextError,
    ItemNotFoundError,
    LatentSearchError,
    NonFiniteVectorError,
    NotFoundError,
    StoreError,
)

S = "\ud800"  # a lone surrogate: not a Unicode scalar value, cannot be encoded as UTF-8
LOW = "\udfff"
NUL = "a\x00b"
HUGE = 10**400  # beyond a 64-bit float: OverflowError where it meets float()
DEEP = 900  # nesting levels: past Python's recursion limit in a recursive compiler


@dataclass(frozen=True)
class File:
    """A fixture path made by the runner: fifo, dir, missing, notimage, passwd, big, truncated,
    dbfile, upload, gallery, corrupt (a folder whose database file is garbage)."""

    name: str


@dataclass(frozen=True)
class Vec:
    """``np.full(shape, fill, dtype)``; ``shape`` defaults to one 8-d vector."""

    fill: Any
    shape: tuple[int, ...] = (8,)
    dtype: str = "float64"


class _ZeroImage:
    def __repr__(self) -> str:
        return "ZERO_IMAGE"


ZERO_IMAGE = _ZeroImage()  # PIL.Image.new("RGB", (0, 0))

Errors = type[LatentSearchError] | tuple[type[LatentSearchError], ...]


@dataclass(frozen=True)
class Case:
    """One hostile input.

    ``op``: add, upsert (one record), search, query, analogy, delete, get, image (GET an item's
    image), connect (open ``path``; ``latentsearch info`` on the CLI) or raw (an HTTP request). ``error``: what the Python API must raise (None: no
    Python form). ``status``: the HTTP status (None: no HTTP form). ``cli``: whether the CLI form
    runs (writes go through ``latentsearch build`` of a JSONL file). ``noop_ok``: an empty answer
    is also right (no hits, nothing deleted): a NUL can match nothing stored, on either database. ``group``: every
    HTTP answer in a group must be the same (status and message, the path aside): no oracle.
    """

    name: str
    op: str
    target: str
    args: dict[str, Any]
    error: Errors | None
    status: int | tuple[int, ...] | None
    cli: bool = True
    defect: str = ""
    noop_ok: bool = False
    group: str = ""
    http: dict[str, Any] | None = field(default=None)  # the HTTP form, where it differs


def rec(**kw: Any) -> dict[str, Any]:
    """A docs record: a fresh id and text unless given."""
    return {"id": "new-1", "text": "a new document about printers", **kw}


DOCS_TEXT0 = "VPN outage runbook: restart the gateway and rotate its keys."  # item d0
BAD_TEXT = (InvalidTextError,)
BAD_FILTER = (FilterError, InvalidTextError)  # a filter with text that cannot be stored
BAD_ID = (InvalidTextError, ItemNotFoundError)  # an id no item can have: typed, either way
IMG = (404, 422)  # an image: term over HTTP names no server path; one answer for all of them


# The table: one entry per line (the formatter leaves it so).
# fmt: off
def _stored_strings() -> list[Case]:
    """Defect 3/4: a lone surrogate or a NUL in every stored string, on add and upsert."""
    out: list[Case] = []
    for tag, bad in (("surrogate", S), ("nul", NUL)):
        for where, record in (
            ("id", rec(id=f"x{bad}")),
            ("text", rec(text=f"printer {bad} jam")),
            ("meta-key", rec(metadata={f"k{bad}": 1})),
            ("meta-value", rec(metadata={"team": f"e{bad}"})),
            ("meta-nested", rec(metadata={"a": {"b": [1, {"c": f"v{bad}"}]}})),
            ("meta-nested-key", rec(metadata={"a": {f"b{bad}": 1}})),
            ("acl", rec(acl=["group:eng", f"group:{bad}"])),
            ("source-uri", rec(source={"uri": f"https://x.example/{bad}"})),
            ("source-title", rec(source={"title": f"Title {bad}"})),
        ):
            out.append(Case(f"add-{where}-{tag}", "add", "docs", {"record": record}, BAD_TEXT, 422, defect="3"))
        # Upserts of an existing item whose content is unchanged take another path (touch).
        same = {"id": "d0", "text": DOCS_TEXT0}
        out.append(Case(f"upsert-touch-meta-{tag}", "upsert", "docs", {"record": {**same, "metadata": {"x": bad}}}, BAD_TEXT, 422, defect="3"))
        out.append(Case(f"upsert-touch-acl-{tag}", "upsert", "docs", {"record": {**same, "acl": [bad]}}, BAD_TEXT, 422, defect="3"))
        out.append(Case(f"upsert-touch-title-{tag}", "upsert", "docs", {"record": {**same, "source": {"title": bad}}}, BAD_TEXT, 422, defect="3"))
    out.append(Case("add-id-low-surrogate", "add", "docs", {"record": rec(id=f"ok{LOW}")}, BAD_TEXT, 422, defect="3"))
    out.append(Case("add-chunk-parent-surrogate", "add", "docs", {"record": rec(chunk={"parent": f"p{S}", "start": 0, "end": 4})}, BAD_TEXT, 422, cli=False, defect="3"))
    out.append(Case("add-chunk-parent-nul", "add", "docs", {"record": rec(chunk={"parent": NUL, "start": 0, "end": 4})}, BAD_TEXT, 422, cli=False, defect="3"))
    return out

RECORDS = [
    Case("add-empty-text", "add", "docs", {"record": rec(text="")}, EmptyTextError, 422),
    Case("add-blank-text", "add", "docs", {"record": rec(text=" \n\t ")}, EmptyTextError, 422),
    Case("add-text-not-str", "add", "docs", {"record": rec(text=123)}, InvalidInputError, 422, cli=False),
    Case("add-empty-id", "add", "docs", {"record": rec(id="")}, InvalidInputError, 422, cli=False),
    Case("add-id-too-long", "add", "docs", {"record": rec(id="x" * 513)}, InvalidInputError, 422),
    Case("add-existing-id", "add", "docs", {"record": rec(id="d1")}, DuplicateIdError, 409, cli=False),
    Case("add-meta-nan", "add", "docs", {"record": rec(metadata={"score": float("nan")})}, InvalidInputError, 422),
    Case("add-acl-string", "add", "docs", {"record": rec(acl="group:eng")}, InvalidInputError, 422, cli=False),
    Case("add-acl-empty-entry", "add", "docs", {"record": rec(acl=[""])}, InvalidInputError, 422),
    Case("add-unknown-key", "add", "docs", {"record": rec(colour="red")}, InvalidInputError, 422, cli=False),
]

VECTORS = [
    Case("add-vector-nan", "add", "raw", {"record": {"id": "n", "vector": Vec(float("nan"))}}, NonFiniteVectorError, 422, cli=False, defect="9"),
    Case("add-vector-inf", "add", "raw", {"record": {"id": "n", "vector": Vec(float("inf"))}}, NonFiniteVectorError, 422, cli=False, defect="9"),
    Case("add-vectors-neg-inf", "add", "raw", {"vectors": Vec(float("-inf"), (1, 8))}, NonFiniteVectorError, None, cli=False, defect="9"),
    Case("add-vector-complex", "add", "raw", {"record": {"id": "n", "vector": Vec(1 + 2j, dtype="complex128")}}, InvalidInputError, None, cli=False, defect="9"),
    Case("add-vectors-complex", "add", "raw", {"vectors": Vec(1 + 0j, (2, 8), "complex64")}, InvalidInputError, None, cli=False, defect="9"),
    Case("add-vector-dim-7", "add", "raw", {"record": {"id": "n", "vector": Vec(0.5, (7,))}}, DimensionMismatchError, 422, cli=False),
    Case("add-vectors-dim-9", "add", "raw", {"vectors": Vec(0.5, (1, 9))}, DimensionMismatchError, None, cli=False),
    Case("add-vector-zero", "add", "raw", {"record": {"id": "n", "vector": Vec(0.0)}}, InvalidInputError, 422, cli=False),
    Case("add-vector-strings", "add", "raw", {"record": {"id": "n", "vector": ["a"] * 8}}, InvalidInputError, 422, cli=False),
    Case("add-vector-empty", "add", "raw", {"record": {"id": "n", "vector": []}}, InvalidInputError, 422, cli=False),
    Case("add-vector-nulls", "add", "raw", {"record": {"id": "n", "vector": [None] * 8}}, InvalidInputError, 422, cli=False),
    Case("search-vector-nan", "search", "raw", {"query": Vec(float("nan"))}, InvalidInputError, 422, cli=False, defect="9"),
    Case("search-vector-dim", "search", "raw", {"query": Vec(1.0, (3,))}, DimensionMismatchError, 422, cli=False),
    Case("search-vector-complex", "search", "raw", {"query": Vec(1j, dtype="complex128")}, InvalidInputError, None, cli=False, defect="9"),
    Case("search-vector-zero", "search", "raw", {"query": Vec(0.0)}, InvalidInputError, 422, cli=False),
]

READS = [
    Case("search-k-0", "search", "docs", {"query": "vpn", "k": 0}, InvalidInputError, 422),
    Case("search-k-negative", "search", "docs", {"query": "vpn", "k": -1}, InvalidInputError, 422),
    Case("search-k-too-big", "search", "docs", {"query": "vpn", "k": 10_001}, InvalidInputError, 422),
    Case("search-k-float", "search", "docs", {"query": "vpn", "k": 1.5}, InvalidInputError, 422),
    Case("search-k-bool", "search", "docs", {"query": "vpn", "k": True}, InvalidInputError, None, cli=False),
    Case("search-k-string", "search", "docs", {"query": "vpn", "k": "5"}, InvalidInputError, None, cli=False),
    Case("search-empty-text", "search", "docs", {"query": ""}, InvalidInputError, 422),
    Case("search-text-surrogate", "search", "docs", {"query": f"vpn {S}"}, BAD_TEXT, 422, defect="4"),
    Case("search-principal-surrogate", "search", "docs", {"query": "vpn", "principals": [f"group:{S}"]}, BAD_TEXT, None, defect="4"),
    Case("search-principal-nul", "search", "docs", {"query": "vpn", "principals": [NUL]}, BAD_TEXT, None, defect="4"),
    Case("search-principals-string", "search", "docs", {"query": "vpn", "principals": "group:eng"}, InvalidInputError, None, cli=False),
    Case("search-id-missing", "search", "docs", {"query": {"id": "nope"}}, ItemNotFoundError, 404),
    Case("search-id-surrogate", "search", "docs", {"query": {"id": f"d{S}"}}, BAD_ID, (404, 422), defect="4"),
    Case("search-id-nul", "search", "docs", {"query": {"id": NUL}}, BAD_ID, (404, 422), defect="4"),
    Case("get-id-nul", "get", "docs", {"id": NUL}, BAD_ID, (404, 422), cli=False, defect="4"),
    Case("get-id-surrogate", "get", "docs", {"id": S}, BAD_ID, None, cli=False, defect="4"),
    Case("analogy-weights-nan", "analogy", "docs", {"positive": ["vpn"], "weights": [float("nan")]}, InvalidInputError, 422, cli=False),
    Case("analogy-weights-count", "analogy", "docs", {"positive": ["vpn", "mac"], "weights": [1.0]}, InvalidInputError, 422),
    Case("analogy-id-missing", "analogy", "docs", {"positive": [{"id": "nope"}]}, ItemNotFoundError, 404),
    Case("analogy-term-surrogate", "analogy", "docs", {"positive": [f"x{S}"]}, BAD_TEXT, 422, defect="4"),
]


def _deep_not(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"$eq": "eng"}
    for _ in range(levels):
        inner = {"$not": inner}
    return {"team": inner}


def _deep_and(levels: int) -> dict[str, Any]:
    """Each level is a dict and a list: a third of DEEP stays within what `json.dumps` can write
    (for the HTTP and CLI forms), and is still far past the 32 levels filters allow."""
    inner: dict[str, Any] = {"team": "eng"}
    for _ in range(levels):
        inner = {"$and": [inner]}
    return inner


FILTERS = [
    Case("where-huge-int", "search", "docs", {"query": "vpn", "where": {"n": HUGE}}, FilterError, 422, defect="4"),
    Case("where-huge-int-gt", "search", "docs", {"query": "vpn", "where": {"n": {"$gt": HUGE}}}, FilterError, 422, defect="4"),
    Case("where-huge-int-in", "search", "docs", {"query": "vpn", "where": {"n": {"$in": [1, -HUGE]}}}, FilterError, 422, defect="4"),
    Case("where-deep-not", "search", "docs", {"query": "vpn", "where": _deep_not(DEEP)}, FilterError, 422, defect="4"),
    Case("where-deep-and", "search", "docs", {"query": "vpn", "where": _deep_and(DEEP // 3)}, FilterError, 422, defect="4"),
    Case("where-surrogate-value", "search", "docs", {"query": "vpn", "where": {"team": S}}, BAD_FILTER, 422, defect="4"),
    Case("where-surrogate-field", "search", "docs", {"query": "vpn", "where": {S: "eng"}}, BAD_FILTER, 422, defect="4"),
    Case("where-surrogate-in", "search", "docs", {"query": "vpn", "where": {"team": {"$in": ["eng", S]}}}, BAD_FILTER, 422, defect="4"),
    Case("where-nul-value", "search", "docs", {"query": "vpn", "where": {"team": NUL}}, BAD_FILTER, 422, defect="4", noop_ok=True),
    Case("where-nul-field", "search", "docs", {"query": "vpn", "where": {NUL: 1}}, BAD_FILTER, 422, defect="4", noop_ok=True),
    Case("where-nul-builtin", "search", "docs", {"query": "vpn", "where": {"source.uri": NUL}}, BAD_FILTER, 422, defect="4", noop_ok=True),
    Case("where-unknown-op", "search", "docs", {"query": "vpn", "where": {"team": {"$regex": "e"}}}, FilterError, 422),
    Case("where-unknown-top-op", "search", "docs", {"query": "vpn", "where": {"$where": "1 == 1"}}, FilterError, 422),
    Case("where-in-not-list", "search", "docs", {"query": "vpn", "where": {"team": {"$in": "eng"}}}, FilterError, 422),
    Case("where-nan", "search", "docs", {"query": "vpn", "where": {"n": {"$gt": float("nan")}}}, FilterError, 422),
    Case("where-not-object", "search", "docs", {"query": "vpn", "where": ["team"]}, InvalidInputError, 422),
    Case("query-where-huge-int", "query", "docs", {"expr": "vpn", "where": {"n": {"$lte": HUGE}}}, FilterError, 422, defect="4"),
    Case("delete-where-huge-int", "delete", "docs", {"where": {"n": HUGE}}, FilterError, 422, defect="4"),
    Case("delete-where-deep-not", "delete", "docs", {"where": _deep_not(DEEP)}, FilterError, 422, defect="4"),
    Case("delete-where-surrogate", "delete", "docs", {"where": {"team": S}}, BAD_FILTER, 422, defect="4"),
    Case("delete-where-nul", "delete", "docs", {"where": {"source.title": NUL}}, BAD_FILTER, 422, defect="4", noop_ok=True),
    Case("delete-where-unknown-op", "delete", "docs", {"where": {"n": {"$near": 1}}}, FilterError, 422),
    Case("delete-ids-nul", "delete", "docs", {"ids": [NUL]}, BAD_TEXT, 422, defect="4", noop_ok=True),
    Case("delete-ids-surrogate", "delete", "docs", {"ids": [S]}, BAD_TEXT, 422, defect="4", noop_ok=True),
    Case("delete-ids-string", "delete", "docs", {"ids": "d0"}, InvalidInputError, 422, cli=False),
    Case("delete-nothing-named", "delete", "docs", {}, InvalidInputError, 422),
]

EXPRESSIONS = [
    Case("query-empty", "query", "docs", {"expr": ""}, InvalidInputError, 422),
    Case("query-dangling-minus", "query", "docs", {"expr": '"vpn" - '}, ExpressionError, 422),
    Case("query-double-star", "query", "docs", {"expr": "king * * man"}, ExpressionError, 422),
    Case("query-unterminated", "query", "docs", {"expr": '"vpn outage'}, ExpressionError, 422),
    Case("query-unknown-operator", "query", "docs", {"expr": "vpn $ outage"}, ExpressionError, 422),
    Case("query-unknown-prefix", "query", "docs", {"expr": "file:/etc/passwd"}, ExpressionError, 422),
    Case("query-huge-weight", "query", "docs", {"expr": "1e400 * vpn"}, InvalidInputError, 422),
    Case("query-deep-parens", "query", "docs", {"expr": "(" * DEEP + "vpn" + ")" * DEEP}, InvalidInputError, 422, defect="4"),
    Case("query-missing-direction", "query", "docs", {"expr": "vec:nope"}, DirectionNotFoundError, 404),
    Case("query-missing-item", "query", "docs", {"expr": "@nope + vpn"}, ItemNotFoundError, 404),
    Case("query-surrogate-text", "query", "docs", {"expr": f'"vpn {S}"'}, BAD_TEXT, 422, defect="4"),
]

# Defect 1: over HTTP an image: term never names a server path, and every such term gets the
# same answer (no existence oracle). The Python API and the CLI may read local files, as images,
# regular files only, within the upload limits; the database file is left out of the Python
# form on purpose (opening it in-process is the hazard itself).
IMAGE_PATHS = [
    Case("image-term-missing", "query", "photos", {"expr": "image:{missing}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-dir", "query", "photos", {"expr": "image:{dir}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-fifo", "query", "photos", {"expr": "image:{fifo}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-passwd", "query", "photos", {"expr": "image:/etc/passwd"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-notimage", "query", "photos", {"expr": "image:{notimage}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-truncated", "query", "photos", {"expr": "image:{truncated}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-too-many-pixels", "query", "photos", {"expr": "image:{big}"}, ImageError, IMG, defect="1", group="path"),
    Case("image-term-database", "query", "photos", {"expr": "image:{dbfile}"}, None, IMG, cli=False, defect="1", group="path"),
    Case("image-term-upload", "query", "photos", {"expr": "image:{upload}"}, None, IMG, cli=False, defect="1", group="path"),
    Case("image-term-gallery", "query", "photos", {"expr": "image:{gallery}"}, None, IMG, cli=False, defect="1", group="path"),
    Case("image-search-fifo", "search", "photos", {"query": File("fifo")}, ImageError, None, defect="1"),
    Case("image-search-dir", "search", "photos", {"query": File("dir")}, ImageError, None, defect="1"),
    Case("image-search-missing", "search", "photos", {"query": File("missing")}, ImageError, None, defect="1"),
    Case("image-search-too-many-pixels", "search", "photos", {"query": File("big")}, ImageError, None, defect="1"),
    Case("image-search-0x0", "search", "photos", {"query": ZERO_IMAGE}, ImageError, None, cli=False, defect="4"),
    Case("image-add-0x0", "add", "photos", {"record": {"id": "z", "image": ZERO_IMAGE}}, ImageError, None, cli=False, defect="4"),
    Case("image-add-fifo", "add", "photos", {"record": {"id": "z", "image": File("fifo")}}, ImageError, None, cli=False, defect="1"),
    Case("image-add-dir", "add", "photos", {"record": {"id": "z", "image": File("dir")}}, ImageError, None, cli=False, defect="1"),
    Case("image-add-too-many-pixels", "add", "photos", {"record": {"id": "z", "image": File("big")}}, ImageError, 422, cli=False, defect="1"),
    Case("image-add-not-an-image", "add", "photos", {"record": {"id": "z", "image": File("notimage")}}, ImageError, 422, cli=False),
    Case("image-file-gone", "image", "photos", {"id": "gone"}, None, 404, cli=False, defect="4"),
]

# Defect 4: opening what is not an index (the world's store is untouched by these).
OPENING = [
    Case("connect-on-a-file", "connect", "docs", {"path": File("notimage")}, (InvalidInputError, StoreError, NotFoundError), None, defect="4"),
    Case("connect-corrupt-sqlite", "connect", "docs", {"path": File("corrupt")}, StoreError, None, defect="4"),
]

# HTTP only: the request itself is hostile.
HTTP_ONLY = [
    Case("http-body-too-large", "raw", "docs", {"method": "POST", "path": "search", "size": 2 << 20}, None, 413, cli=False),
    Case("http-body-too-large-streamed", "raw", "docs", {"method": "PUT", "path": "items", "size": 2 << 20, "stream": True}, None, 413, cli=False),
    Case("http-malformed-json", "raw", "docs", {"method": "POST", "path": "search", "body": b'{"text": "vpn",'}, None, 422, cli=False),
    Case("http-body-not-object", "raw", "docs", {"method": "POST", "path": "search", "body": b'["vpn"]'}, None, 422, cli=False),
    Case("http-deep-json", "raw", "docs", {"method": "POST", "path": "search", "body": b'{"text": "vpn", "where": {"a": ' + b'{"$not": ' * 5000 + b"1" + b"}" * 5002}, None, (400, 422), cli=False, defect="4"),
    Case("http-too-many-records", "raw", "docs", {"method": "PUT", "path": "items", "json": {"records": [{"text": "x"}] * 1001}}, None, 422, cli=False),
    Case("http-unknown-field", "raw", "docs", {"method": "POST", "path": "search", "json": {"text": "vpn", "colour": 1}}, None, 422, cli=False),
    Case("http-image-not-base64", "raw", "photos", {"method": "POST", "path": "search", "json": {"image": "not base64!"}}, None, 422, cli=False),
    Case("http-image-not-an-image", "raw", "photos", {"method": "POST", "path": "search", "json": {"image": "aGVsbG8gd29ybGQ="}}, None, 422, cli=False),
    Case("http-on-behalf-of-by-reader", "raw", "docs", {"method": "POST", "path": "search", "json": {"text": "vpn", "on_behalf_of": {"user": "root"}}}, None, 403, cli=False),
]

CASES: list[Case] = [*_stored_strings(), *RECORDS, *VECTORS, *READS, *FILTERS, *EXPRESSIONS, *IMAGE_PATHS, *OPENING, *HTTP_ONLY]

assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
# fmt: on
