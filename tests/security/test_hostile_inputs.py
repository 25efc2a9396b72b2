"""Every entry of the hostile-input catalogue (`hostile_cases.py`), through the Python API, the CLI
and HTTP, on SQLite and PostgreSQL: a typed error (a documented exit code, a 4xx) with a clear
message, and the store unchanged (rows, ACLs, vectors, index answers; the app's index too)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from full import full_run
from hostile_cases import CASES, Case
from hostile_world import World, build_world, close_world
from pgkit import pg_schema
from typer.testing import CliRunner

import latentsearch as ls
from latentsearch.cli import app as cli_app
from latentsearch.errors import InvalidInputError, LatentSearchError, NotFoundError
from latentsearch.results import WriteResult

CLI_OPS = {"add", "upsert", "search", "query", "analogy", "delete", "connect"}
PY_CASES = [c for c in CASES if c.error is not None]
CLI_CASES = [c for c in CASES if c.cli and c.error is not None and c.op in CLI_OPS]
# The CLI calls the Python API, which runs every entry on both databases; CI runs a third of the
# CLI entries on PostgreSQL (every one in the full run) to keep the module's time modest.
CLI_PARAMS = [
    *(pytest.param("sqlite", c, id=f"sqlite-{c.name}") for c in CLI_CASES),
    *(
        pytest.param("postgres", c, id=f"postgres-{c.name}", marks=pytest.mark.postgres)
        for i, c in enumerate(CLI_CASES)
        if full_run() or i % 3 == 0
    ),
]
HTTP_CASES = [c for c in CASES if c.status is not None]
CLEAR = re.compile(r"internal error|Traceback|request id", re.IGNORECASE)


def _ids(c: Case) -> str:
    return c.name


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory, quick_clip_path: Path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = build_world(tmp_path_factory.mktemp("hostile"), None, quick_clip_path)
    yield w
    close_world(w)


@pytest.fixture(scope="module")
def postgres_world(tmp_path_factory, quick_clip_path: Path, pg_admin) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with pg_schema(pg_admin) as url:
        w = build_world(tmp_path_factory.mktemp("hostile"), url, quick_clip_path)
        try:
            yield w
        finally:
            close_world(w)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(request) -> World:  # type: ignore[no-untyped-def]
    """One world per database, built once per module and shared with `test_cli`."""
    world: World = request.getfixturevalue(f"{request.param}_world")
    return world


def test_catalogue_size_and_coverage() -> None:
    assert len(CASES) >= 60
    assert len(PY_CASES) >= 60 and len(CLI_CASES) >= 40 and len(HTTP_CASES) >= 60
    for defect in ("1", "3", "4", "9"):
        assert any(c.defect == defect for c in CASES), defect


# -- Python API --------------------------------------------------------------------------
def call_python(w: World, case: Case) -> Any:
    col = w.db.collection(case.target)
    a = w.resolve(case.args)
    if case.op in ("add", "upsert"):
        write = getattr(col, case.op)
        if "vectors" in a:
            return write(vectors=a["vectors"], ids=[f"n{i}" for i in range(len(a["vectors"]))])
        return write([a["record"]])
    if case.op == "search":
        return col.search(
            a["query"], a.get("k", 10), where=a.get("where"), principals=a.get("principals")
        )
    if case.op == "query":
        return col.query(a["expr"], a.get("k", 10), where=a.get("where"))
    if case.op == "analogy":
        return col.analogy(a["positive"], a.get("negative", ()), weights=a.get("weights"))
    if case.op == "delete":
        return col.delete(a.get("ids"), where=a.get("where"))
    if case.op == "get":
        return col.get(a["id"])
    if case.op == "connect":
        with ls.connect(a["path"], device="cpu") as db:
            return db.collections()
    raise AssertionError(f"no Python form for {case.op}")


@pytest.mark.parametrize("case", PY_CASES, ids=_ids)
def test_python_api(world: World, case: Case) -> None:
    with world.unchanged(case.target):
        try:
            result = call_python(world, case)
        except LatentSearchError as exc:
            assert isinstance(exc, case.error), f"{type(exc).__name__}: {exc}"  # type: ignore[arg-type]
            assert str(exc).strip() and not CLEAR.search(str(exc)), str(exc)
            return
        except Exception as exc:
            pytest.fail(f"untyped {type(exc).__name__}: {exc}")
        if case.noop_ok and (
            result == [] or (isinstance(result, WriteResult) and not result.deleted)
        ):
            return
        pytest.fail(f"accepted: {result!r:.200}")


# -- CLI ---------------------------------------------------------------------------------
def _classes(case: Case) -> tuple[type, ...]:
    return case.error if isinstance(case.error, tuple) else (case.error,)  # type: ignore[return-value]


def _exit_codes(case: Case) -> set[int]:
    """The documented exit codes (latentsearch.cli.app) for the case's error classes."""
    codes = {
        3 if issubclass(c, NotFoundError) else 2 if issubclass(c, InvalidInputError) else 4
        for c in _classes(case)
    }
    if case.op in ("add", "upsert"):
        codes.add(1)  # build: the bad record is reported and nothing was indexed
    if case.noop_ok:
        codes.add(0)  # with no results / nothing deleted (the store check covers the rest)
    return codes


def cli_args(w: World, case: Case) -> list[str]:
    a = w.resolve(case.args, http=True)  # paths as strings
    if case.op == "connect":
        return ["info", "--index", a["path"]]
    common = ["--index", str(w.index), "-c", case.target]
    if w.database:
        common += ["--database", w.database]
    where = ["-w", json.dumps(a["where"])] if "where" in a else []
    k = ["-k", str(a["k"])] if "k" in a else []
    if case.op in ("add", "upsert"):
        r = a["record"]
        src = r.get("source") or {}
        row = {k2: v for k2, v in r.items() if k2 in ("id", "text", "metadata", "acl")}
        row.update({k2: v for k2, v in src.items()})
        path = w.root / f"cli-{case.name}.jsonl"
        path.write_text(json.dumps(row) + "\n")
        return ["build", str(path), *common, "--device", "cpu", "--json"]
    if case.op == "search":
        q = a["query"]
        if isinstance(q, dict):
            query = [f"@{q['id']}"]
        elif isinstance(case.args["query"], str):
            query = [q]
        else:
            query = ["--image", q]
        principals = [x for p in a.get("principals") or () for x in ("-p", p)]
        return ["search", *query, *common, *k, *where, *principals, "--device", "cpu"]
    if case.op == "query":
        return ["query", a["expr"], *common, *k, *where, "--device", "cpu"]
    if case.op == "analogy":
        terms = [
            x for t in a["positive"] for x in ("-P", f"@{t['id']}" if isinstance(t, dict) else t)
        ]
        weights = [x for wt in a.get("weights") or () for x in ("--weight", str(wt))]
        return ["analogy", *terms, *weights, *common, "--device", "cpu"]
    assert case.op == "delete"
    ids = [x for i in a.get("ids") or () for x in ("--id", i)]
    return ["delete", *ids, *where, *common]


@pytest.mark.parametrize(("db", "case"), CLI_PARAMS)
def test_cli(request, db: str, case: Case) -> None:  # type: ignore[no-untyped-def]
    world: World = request.getfixturevalue(f"{db}_world")
    args = cli_args(world, case)
    with world.unchanged(case.target):
        result = CliRunner().invoke(cli_app, args, catch_exceptions=False)
    out = result.stdout + result.stderr
    assert result.exit_code in _exit_codes(case), f"exit {result.exit_code}: {out[-600:]}"
    assert not CLEAR.search(out), out[-600:]
    if result.exit_code == 0:  # only where an empty answer is right (noop_ok)
        assert "No results" in result.stdout or "Deleted 0 " in result.stdout, result.stdout
    else:
        assert "Error" in result.stderr or "Invalid value" in result.stderr, result.stderr


# -- HTTP --------------------------------------------------------------------------------
def _body(w: World, case: Case) -> dict[str, Any]:
    if case.http is not None:
        return w.resolve(case.http, http=True)
    a = w.resolve(case.args, http=True)
    if case.op in ("add", "upsert"):
        r = dict(a["record"])
        if isinstance(r.get("image"), str):  # a fixture file, uploaded as base64
            r["image"] = base64.b64encode(Path(r["image"]).read_bytes()).decode()
        return {"records": [r]}
    if case.op == "search":
        q = a["query"]
        body = (
            {"id": q["id"]}
            if isinstance(q, dict)
            else {"vector": q}
            if isinstance(q, list)
            else {"text": q}
        )
        return {**body, **{k: a[k] for k in ("k", "where") if k in a}}
    if case.op == "query":
        return {k: a[k] for k in ("expr", "k", "where") if k in a}
    if case.op == "analogy":
        return {k: a[k] for k in ("positive", "negative", "weights") if k in a}
    return {k: a[k] for k in ("ids", "where") if k in a}  # delete


def http_call(w: World, case: Case) -> Any:
    write = case.op in ("add", "upsert", "delete") or case.args.get("method") in ("PUT", "DELETE")
    headers = {"Authorization": f"Bearer {w.keys['admin' if write else 'reader']}"}
    base = f"/collections/{case.target}"
    if case.op == "get":
        return w.client.get(f"{base}/items/{quote(case.args['id'], safe='')}", headers=headers)
    if case.op == "image":
        return w.client.get(f"{base}/images/{quote(case.args['id'], safe='')}", headers=headers)
    headers["Content-Type"] = "application/json"
    if case.op == "raw":
        a = case.args
        url = f"{base}/{a['path']}"
        if "size" in a:
            data = b'{"text": "' + b"x" * a["size"] + b'"}'
            content: Any = (
                iter([data[i : i + 65536] for i in range(0, len(data), 65536)])
                if a.get("stream")
                else data
            )
        else:
            content = a["body"] if "body" in a else json.dumps(a["json"]).encode()
        return w.client.request(a["method"], url, content=content, headers=headers)
    method, path = {
        "add": ("POST", "items"),
        "upsert": ("PUT", "items"),
        "delete": ("DELETE", "items"),
        "search": ("POST", "search"),
        "query": ("POST", "query"),
        "analogy": ("POST", "analogy"),
    }[case.op]
    # json.dumps by hand: it escapes lone surrogates (httpx would fail to encode them) and keeps NaN
    return w.client.request(
        method, f"{base}/{path}", content=json.dumps(_body(w, case)).encode(), headers=headers
    )


def _statuses(case: Case) -> tuple[int, ...]:
    return case.status if isinstance(case.status, tuple) else (case.status,)  # type: ignore[return-value]


@pytest.mark.parametrize("case", HTTP_CASES, ids=_ids)
def test_http(world: World, case: Case) -> None:
    with world.unchanged(case.target, app=True):
        r = http_call(world, case)
    ok = (
        case.noop_ok
        and r.status_code == 200
        and not (r.json().get("deleted") or r.json().get("hits"))
    )
    assert ok or r.status_code in _statuses(case), f"{r.status_code}: {r.text[:400]}"
    if not ok:
        msg = r.json().get("error", "")
        assert isinstance(msg, str) and msg.strip(), r.text[:400]
        assert not CLEAR.search(msg), msg


def test_http_image_paths_get_one_answer(world: World) -> None:
    """No existence oracle: every path term gets the same status and message (the path aside)."""
    answers = {}
    for case in (c for c in CASES if c.group == "path"):
        r = http_call(world, case)
        msg = r.json().get("error", "")
        for _name, path in sorted(world.files.items(), key=lambda kv: -len(str(kv[1]))):
            msg = msg.replace(str(path), "<path>")
        msg = re.sub(r"image:\S+", "image:<path>", msg.replace("/etc/passwd", "<path>"))
        msg = re.sub(r"\s+", " ", msg)  # a caret under a longer path is the same answer
        answers[case.name] = (r.status_code, msg)
    assert len(set(answers.values())) == 1, json.dumps(answers, indent=1)


@pytest.mark.parametrize(
    ("value", "dtype"), [(3e38, np.float32), (1e39, np.float64), (-1e300, np.float64)]
)
def test_finite_huge_vectors_are_stored_as_unit_vectors(
    world: World, value: float, dtype: type
) -> None:
    """Defect 9: these are finite; their norms overflow float32 (1e39 and 1e300 are not even
    float32 values), yet a cosine collection stores each as its direction, and searches by it."""
    col = world.db.collection("raw")
    try:
        col.add(vectors=np.full((1, 8), value, dtype=dtype), ids=["huge"])
        (item,) = col.get(["huge"], include_vectors=True)
        assert item.vector is not None and np.all(np.isfinite(item.vector))
        want = np.full(8, np.sign(value) * 8**-0.5)
        assert np.allclose(item.vector, want, atol=1e-6), item.vector
        assert col.search(np.full(8, value, dtype=dtype), k=1)[0].id == "huge"
    finally:
        col.delete(["huge"])
