"""Memory stays bounded whatever the input size: record files stream, builds work in batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from corpus import ROOT

import latentsearch as ls
from latentsearch.ingest.build import BuildOptions, build
from latentsearch.ingest.record_files import FieldMap, load_records
from latentsearch.ingest.sources import SourceFile

MiB = 1 << 20


def _jsonl(path: Path, n: int, start: int = 0) -> Path:
    with path.open("w") as fh:
        for i in range(start, start + n):
            fh.write(
                json.dumps(
                    {
                        "id": f"r{i}",
                        "text": f"ticket {i}: a red circle next to a blue square #{i * 7}",
                        "team": i % 9,
                    }
                )
                + "\n"
            )
    return path


def _source(path: Path) -> SourceFile:
    st = path.stat()
    return SourceFile(path, path.name, "records", st.st_size, st.st_mtime_ns)


_STREAM = """
import resource, sys
from pathlib import Path
from latentsearch.ingest.record_files import FieldMap, load_records
from latentsearch.ingest.sources import SourceFile
path = Path(sys.argv[1])
st = path.stat()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = sum(1 for d in load_records(SourceFile(path, path.name, "records", st.st_size, st.st_mtime_ns), FieldMap(), None) if d.error is None)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(n, before, after)
"""


def test_a_million_record_jsonl_streams_in_flat_memory(tmp_path: Path) -> None:
    """Reading 1,000,000 records (a 67 MiB file) raises the process's peak RSS by a few MiB at most."""
    path = _jsonl(tmp_path / "big.jsonl", 1_000_000)
    size = path.stat().st_size
    assert size > 60 * MiB
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _STREAM, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    n, before_kib, after_kib = map(int, proc.stdout.split())
    assert n == 1_000_000
    assert (after_kib - before_kib) * 1024 < 16 * MiB, (
        f"peak RSS grew {(after_kib - before_kib) / 1024:.1f} MiB for a {size / MiB:.0f} MiB file"
    )


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    # Big enough that the reader's fixed buffers (about 135 KiB with ijson's pure-Python
    # backend) are far below the bound, which only a reader holding the file whole would break.
    path = _jsonl(tmp_path / "r.jsonl", 50_000)
    seen = 0

    def progress(n: int) -> None:
        nonlocal seen
        seen += n

    tracemalloc.start()
    try:
        docs = sum(1 for _ in load_records(_source(path), FieldMap(), progress))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert docs == 50_000 and seen == path.stat().st_size
    assert peak < path.stat().st_size / 4  # the file is never held whole


def test_build_memory_does_not_grow_with_input(tmp_path: Path, tiny_clip_path: Path) -> None:
    """Peak Python memory of a whole build (load, chunk, embed, write) for 500 vs 3,000 records."""
    peaks = {}
    for n in (500, 3000):
        path = _jsonl(tmp_path / f"r{n}.jsonl", n)
        with ls.connect(tmp_path / f"idx{n}", device="cpu") as db:
            col = db.create_collection("c", encoder=str(tiny_clip_path))
            col.encoder.encode_texts(["warm up"])  # load the model outside the measurement
            tracemalloc.start()
            try:
                summary = build(db, col, BuildOptions(sources=[str(path)], batch_size=256))
                _, peaks[n] = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert summary.documents.added == n and len(col) == n
    assert peaks[3000] < peaks[500] * 1.5 + 2 * MiB, {
        k: f"{v / MiB:.1f} MiB" for k, v in peaks.items()
    }


def test_one_changed_record_in_a_big_file_embeds_one_item(
    tmp_path: Path, tiny_clip_path: Path
) -> None:
    path = _jsonl(tmp_path / "r.jsonl", 1500)
    with ls.connect(tmp_path / "idx", device="cpu") as db:
        col = db.create_collection("c", encoder=str(tiny_clip_path))
        assert build(db, col, BuildOptions(sources=[str(path)])).items_encoded == 1500
        lines = path.read_text().splitlines()
        lines[1234] = json.dumps({"id": "r1234", "text": "a changed ticket about a green triangle"})
        path.write_text("\n".join(lines) + "\n")
        s = build(db, col, BuildOptions(sources=[str(path)]))
        assert (s.documents.updated, s.documents.unchanged, s.items_encoded) == (1, 1499, 1)
        assert col.get("r1234").text == "a changed ticket about a green triangle"
