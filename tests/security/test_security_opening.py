"""Opening an index (issue 11, defects 4 and 10): typed errors for a path that is a file and for
a damaged SQLite file, and read-only index folders that search normally and refuse every write.

Each case runs through the Python API, the CLI and `latentsearch serve` start-up. Subprocesses
run the package imported here (``latentsearch.__file__``), so these tests can be pointed at
another checkout with ``PYTHONPATH``.

The tests run as root, which ``chmod`` does not stop: the automatic read-only detection is
tested by running the API, the CLI and the server as the unprivileged user ``nobody`` (via
``setpriv``) on a folder and database that ``nobody`` may read but not write; the rest use
``connect(..., read_only=True)``, which opens the store the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import text

import latentsearch as ls
from latentsearch.errors import InvalidInputError, ReadOnlyError, StoreError
from latentsearch.server import keystore
from latentsearch.testing.server_process import free_port, running_server

PKG_ROOT = Path(ls.__file__).resolve().parents[1]
SETPRIV = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")


def _env(home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(PKG_ROOT), "HF_HUB_OFFLINE": "1"}
    env["TRANSFORMERS_OFFLINE"] = "1"
    if home is not None:  # nobody's HOME does not exist: caches go to a folder it may write
        env |= _home_env(home)
    return env


def _home_env(home: Path) -> dict[str, str]:
    # torch: no ONNX export into a fresh cache for every unprivileged process
    return {
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "XDG_CACHE_HOME": str(home),
        "LATENTSEARCH_ENCODER_BACKEND": "torch",
    }


def cli(*args: object, wrap: tuple[str, ...] = (), home: Path | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*wrap, sys.executable, "-m", "latentsearch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(home),
        cwd=home or PKG_ROOT,
    )


def _clean_failure(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A non-zero exit with a readable message and no traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    for f in fragments:
        assert f in " ".join(out.split()), out


def _serve_fails(index: Path, *fragments: str) -> None:
    proc = cli("serve", "--index", index, "--port", free_port(), "--device", "cpu", timeout=120)
    _clean_failure(proc, *fragments)


def _vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- a path that is a file; a damaged database ---------------------------------------------
def test_connect_on_a_file_is_invalid_input(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("not an index")
    with pytest.raises(InvalidInputError, match="is a file, not an index folder"):
        ls.connect(f, device="cpu")
    with pytest.raises(InvalidInputError, match="cannot create the index folder"):
        ls.connect(f / "sub", device="cpu")
    assert f.read_text() == "not an index"
    _clean_failure(cli("search", "x", "--index", f), "is a file, not an index folder")
    _clean_failure(cli("keys", "list", "--index", f / "sub"), "cannot create the index folder")
    _serve_fails(f, "is a file, not an index folder")


def test_a_damaged_sqlite_file_is_a_store_error_saying_what_to_do(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    with ls.connect(index, device="cpu") as db:
        db.create_collection("v", dim=8, index="Flat").add(ids=["a"], vectors=_vectors(1))
    dbfile = index / "latentsearch.db"
    with open(dbfile, "r+b") as fh:  # random bytes over the header and the first pages
        fh.write(np.random.default_rng(1).bytes(8192))
    before = dbfile.read_bytes()
    with pytest.raises(StoreError, match=r"damaged.*Restore the index folder from a backup"):
        ls.connect(index, device="cpu")
    with pytest.raises(StoreError, match="damaged"):
        ls.connect(index, device="cpu", read_only=True)
    assert dbfile.read_bytes() == before  # opening it changed nothing
    _clean_failure(cli("search", "x", "--index", index), "damaged", "backup")
    _serve_fails(index, "damaged", "backup")


# -- read-only, asked for --------------------------------------------------------------------
def _fill(db: ls.Database) -> None:
    col = db.create_collection("v", dim=8, index="Flat")
    col.add(
        ids=[f"i{j}" for j in range(20)],
        vectors=_vectors(20),
        metadata=[{"n": j} for j in range(20)],
    )
    db.create_collection("spare", dim=8, index="Flat")


def test_read_only_searches_and_refuses_every_write(index_path: Path, database: str | None) -> None:
    with ls.connect(index_path, database=database, device="cpu") as db:
        _fill(db)
        expected = [h.id for h in db.collection("v").search(_vectors(1, seed=7)[0], k=5)]
    files = _snapshot(index_path)
    with ls.connect(index_path, database=database, device="cpu", read_only=True) as db:
        assert db.read_only and "read_only=True" in repr(db.store.read_only_reason)
        col = db.collection("v")
        assert [h.id for h in col.search(_vectors(1, seed=7)[0], k=5)] == expected
        assert len(col) == 20 and col.get("i3").metadata == {"n": 3}
        writes = {
            "add": lambda: col.add(ids=["new"], vectors=_vectors(1)),
            "upsert": lambda: col.upsert(ids=["i1"], vectors=_vectors(1, seed=3)),
            "delete": lambda: col.delete(["i2"]),
            "create": lambda: db.create_collection("w", dim=8),
            "drop": lambda: db.drop_collection("spare"),
        }
        for write in writes.values():
            with pytest.raises(ReadOnlyError, match=r"open read-only.*read_only=True"):
                write()
        with pytest.raises(ReadOnlyError), db.store.transaction() as s:
            keystore.create_key(s, "eve", ["eng"], "admin")
        col.rebuild()  # derived data only: rebuilt in memory, nothing saved
        assert [h.id for h in col.search(_vectors(1, seed=7)[0], k=5)] == expected
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.collection("v")
        assert len(col) == 20 and {c.name for c in db.collections()} == {"v", "spare"}
        assert np.allclose(col.get("i1", include_vectors=True).vector, _unit(_vectors(20)[1]))
        with db.store.session() as s:
            assert keystore.list_keys(s) == []
    after = {k: v for k, v in _snapshot(index_path).items() if not k.endswith(("-wal", "-shm"))}
    assert after == {k: v for k, v in files.items() if not k.endswith(("-wal", "-shm"))}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_read_only_refuses_an_out_of_date_schema_instead_of_migrating(index_path: Path) -> None:
    with ls.connect(index_path, device="cpu") as db:
        _fill(db)
        with db.store.session() as s:
            head = s.scalar(text("SELECT version_num FROM alembic_version"))

    def set_version(v: str) -> None:
        con = sqlite3.connect(index_path / "latentsearch.db")
        con.execute("UPDATE alembic_version SET version_num = ?", (v,))
        con.commit()
        con.close()

    set_version("0005_keys")
    with pytest.raises(ReadOnlyError, match=r"schema revision 0005_keys.*Open it once with write"):
        ls.connect(index_path, device="cpu", read_only=True)
    set_version(head)
    with ls.connect(index_path, device="cpu", read_only=True) as db:
        assert len(db.collection("v")) == 20


# -- read-only, detected: a folder the user may not write ------------------------------------
@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp folder ``nobody`` may enter (pytest's tmp_path is private to root)."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.fail("running as root without setpriv: cannot test as an unprivileged user")
    root = Path(tempfile.mkdtemp(prefix="ls-readonly-"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    home.chmod(0o777)
    try:
        yield root
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


def _unprivileged() -> tuple[str, ...]:
    return SETPRIV if os.geteuid() == 0 else ()


API_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import latentsearch as ls
    from latentsearch.errors import ReadOnlyError
    db = ls.connect(sys.argv[1], device="cpu")
    col = db.collection("v")
    out = {"read_only": db.read_only, "hits": [h.id for h in col.search({"id": "i3"}, k=2)]}
    try:
        col.add(ids=["x"], vectors=np.ones((1, 8)))
    except ReadOnlyError as exc:
        out["add"] = str(exc)
    db.close()
    print(json.dumps(out))
    """
)


def test_a_folder_the_user_may_not_write_opens_read_only(
    shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = shared_tmp / "idx"
    with ls.connect(index, device="cpu") as db:  # raw vectors: no encoder to load as nobody
        _fill(db)
        with db.store.transaction() as s:
            reader = keystore.create_key(s, "alice", ["eng"], "reader").key
            writer = keystore.create_key(s, "wendy", ["eng"], "writer").key
    (shared_tmp / "new.md").write_text("# New\n\nA document to add.")
    for p in [index, *index.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    (shared_tmp / "new.md").chmod(0o444)
    files = _snapshot(index)
    wrap, home = _unprivileged(), shared_tmp / "home"
    for k, v in _home_env(home).items():  # for the server, which inherits this environment
        monkeypatch.setenv(k, v)

    script = home / "api.py"
    script.write_text(API_SCRIPT)
    proc = subprocess.run(
        [*wrap, sys.executable, str(script), str(index)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(home),
        cwd=home,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["read_only"] is True and out["hits"][0] == "i3"
    assert "is not writable" in out["add"] and "can be searched, not changed" in out["add"]

    found = cli(
        "search", "@i3", "--index", index, "--collection", "v", "--json", wrap=wrap, home=home
    )
    assert found.returncode == 0, found.stderr
    assert '"i3"' in found.stdout
    new = shared_tmp / "new.md"
    built = cli("build", new, "--index", index, "--collection", "notes", wrap=wrap, home=home)
    _clean_failure(built, "open read-only", "is not writable")
    keys = cli("keys", "create", "--index", index, "--user", "eve", wrap=wrap, home=home)
    _clean_failure(keys, "open read-only")

    with running_server(index, wrap=wrap, log_file=home / "server.log") as url:
        r = httpx.post(
            f"{url}/collections/v/search",
            json={"id": "i3", "k": 3},
            headers={"Authorization": f"Bearer {reader}"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "i3", r.text
        w = httpx.put(
            f"{url}/collections/v/items",
            json={"records": [{"id": "n", "vector": [1.0] * 8}]},
            headers={"Authorization": f"Bearer {writer}"},
            timeout=60,
        )
        assert w.status_code == 409 and "open read-only" in w.text, w.text
        d = httpx.request(
            "DELETE",
            f"{url}/collections/v/items",
            json={"ids": ["i1"]},
            headers={"Authorization": f"Bearer {writer}"},
            timeout=60,
        )
        assert d.status_code == 409 and "open read-only" in d.text, d.text
    assert _snapshot(index) == files  # nothing written: no -wal, -shm, index or temp file
    assert not any(stat.S_IMODE(p.stat().st_mode) & 0o222 for p in index.rglob("*"))
