"""An embedded user never loads Ray: not on import, not on connect, not on a search."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
import numpy as np
import latentsearch as ls
assert "ray" not in sys.modules, "import latentsearch loaded ray"
db = ls.connect(sys.argv[1], device="cpu")
col = db.create_collection("c", dim=4, shards=2, replicas=2)
col.add(vectors=np.eye(4, dtype=np.float32), ids=list("abcd"))
hits = col.search(np.eye(4, dtype=np.float32)[0], k=2)
assert hits[0].id == "a" and hits.missing_shards == ()
assert col.options["shards"] == 2
try:
    db.cluster_status()
except ls.LatentSearchError as exc:
    assert type(exc).__name__ == "ClusterError", exc
else:
    raise AssertionError("cluster_status without a cluster")
db.close()
assert "ray" not in sys.modules, "an embedded database loaded ray"
print("ok")
"""


def test_embedded_use_never_imports_ray(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "idx")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_cluster_without_ray_says_how_to_install(tmp_path: Path) -> None:
    # A stub that fails to import stands in for an environment without Ray.
    stub = tmp_path / "stub"
    (stub / "ray").mkdir(parents=True)
    (stub / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import latentsearch as ls\n"
        "try:\n"
        "    ls.connect(sys.argv[2], database='postgresql+psycopg://x@127.0.0.1:1/x', cluster='auto')\n"
        "except ls.LatentSearchError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(stub), str(tmp_path / "idx")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("MissingExtraError"), out.stdout
    assert "pip install 'latentsearch[distributed]'" in out.stdout


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_shards_and_replicas_are_checked(tmp_path: Path, bad: object) -> None:
    import latentsearch as ls
    from latentsearch.errors import InvalidInputError

    with ls.connect(tmp_path / "idx", device="cpu") as db:
        with pytest.raises(InvalidInputError, match="shards"):
            db.create_collection("c", dim=4, shards=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="replicas"):
            db.create_collection("c", dim=4, replicas=bad)  # type: ignore[arg-type]
        assert db.collections() == []
