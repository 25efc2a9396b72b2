"""``backend="auto"`` on the CPU: measure the candidate runtimes once on this machine, keep the fastest.

The first auto encoder of a text model on a machine times each candidate backend (`CANDIDATES`
whose runtime is installed) on a fixed probe: one short query, one long query (~200 tokens) and a
batch of 8 mixed texts, each embedded after a warm-up, interleaved over `ROUNDS` rounds so that
a noisy neighbour slows every candidate alike, the best time per probe kept. The score is the
geometric mean of the three best times; the lowest wins. That takes a few seconds (plus the
one-time exports), and the decision is written to ``<export cache>/models/<fingerprint>/
auto-backend.json`` under a key made of the CPU model and flags, the runtimes' versions and the
export format: the same machine reuses it (logged), another CPU or an upgraded runtime measures
again. Delete the file to measure again.

Results stay within the stated quality bound: float32 backends (``openvino``, ``onnx``) embed
within a cosine of ~1e-4 of torch, and ``onnx-int8`` is a candidate only when `INT8_ENV` opts in
(its vectors depend on their batch mates) and only for models whose int8
Cranfield nDCG@10 was measured offline at ≥ `INT8_GATE` × float32 (`INT8_VERIFIED`, filled from
``python -m bench.s5_backends``, which prints the line to add). An explicit backend (argument or
``LATENTSEARCH_ENCODER_BACKEND``) is never overridden.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentsearch.encoders.backends import DEFAULT_BACKEND, runtime_missing
from latentsearch.encoders.export import FORMAT, cache_root

log = logging.getLogger(__name__)

CANDIDATES = ("openvino", "onnx", "onnx-int8")
CHOICE_FILE = "auto-backend.json"
ROUNDS = 5
INT8_GATE = 0.99
# int8 is a candidate only when this is "1". Dynamic quantisation takes each activation's scale
# from the whole batch, so a text's int8 vector depends on the texts embedded beside it (cosine
# ~0.99 between the same text alone and in a batch): the same content no longer gives the same
# vector, and a build's batch size changes what is stored. Fine for a query-only front; not a
# default for a store.
INT8_ENV = "LATENTSEARCH_ENCODER_INT8"
# Model fingerprint -> int8 Cranfield nDCG@10 ÷ float32 (torch), measured offline by
# ``python -m bench.s5_backends`` (full run: 225 judged queries, 1,398 documents).
INT8_VERIFIED: dict[str, float] = {
    "02bc3590a030c247de72452b165e1f48": 0.9911,  # bundled all-MiniLM-L6-v2, 2026-11-24
}
_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
SHORT = "How do I reset my password after the account was locked?"
LONG = (
    "The boundary layer on a swept wing at transonic speed was measured in a blowdown tunnel with "
    "hot-wire probes and surface pressure taps. Transition moved forward as the Reynolds number "
    "rose, and cross-flow vortices appeared ahead of the shock where the sweep angle exceeded "
    "thirty degrees. A simple integral method predicts the momentum thickness within ten percent "
    "upstream of the shock, but downstream the interaction thickens the layer and separation "
    "follows at the higher Mach numbers. Heat transfer to the wall doubles across the "
    "interaction region, which matters for the design of the thermal protection of the leading "
    "edge. The results are compared with earlier flat plate data and with a finite difference "
    "solution of the compressible boundary layer equations, which agrees well until separation."
)
BATCH = [SHORT, LONG, "vpn drops", LONG[:300], "quarterly revenue by region", LONG[:150]] + [
    SHORT
] * 2

_lock = threading.Lock()
_chosen: dict[tuple[str, str], str] = {}  # (choice file, key) -> backend, for this process


Loader = Callable[[str], Any]  # backend -> a loaded exported model (not kept by the loader)


def choose(fingerprint: str, load: Loader) -> tuple[str, Any]:
    """The backend ``auto`` means for this text model on this machine's CPU (measured once),
    and its model when the measurement loaded it (else None)."""
    path = cache_root() / "models" / fingerprint / CHOICE_FILE
    key = machine_key()
    with _lock:
        if (str(path), key) in _chosen:
            return _chosen[(str(path), key)], None
        record = _read(path).get(key)
        cands = candidates(fingerprint)
        if record and record.get("backend") in cands:
            log.info(
                "encoder backend auto: %s (measured on this machine %s; %s)",
                record["backend"],
                record.get("measured_at", "?"),
                path,
            )
            backend, model = str(record["backend"]), None
        else:
            backend, model, record = _measure(load, cands)
            _write(path, key, record)
        _chosen[(str(path), key)] = backend
        return backend, model


def candidates(fingerprint: str) -> list[str]:
    """Installed candidate backends; int8 only when `INT8_ENV` opts in and its quality was
    verified for this model."""
    out = [b for b in CANDIDATES if not runtime_missing(b)]
    if "onnx-int8" in out and os.environ.get(INT8_ENV) != "1":
        out.remove("onnx-int8")  # batch-dependent vectors: see INT8_ENV
    if "onnx-int8" in out and INT8_VERIFIED.get(fingerprint, 0.0) < INT8_GATE:
        log.info(
            "encoder backend auto: onnx-int8 left out for model %s (its nDCG@10 was not verified "
            "at >= %.2fx float32; see latentsearch.encoders.autotune)",
            fingerprint,
            INT8_GATE,
        )
        out.remove("onnx-int8")
    return out


def machine_key() -> str:
    """What a measured choice depends on: CPU model and flags, runtime versions, export format."""
    parts = [platform.machine(), _cpu_model(), " ".join(f for f in _FLAGS if f in _cpu_flags())]
    parts += [f"{d}=={_version(d)}" for d in ("onnxruntime", "openvino")]
    parts += [f"export-v{FORMAT}", f"threads={os.cpu_count()}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _measure(load: Loader, cands: list[str]) -> tuple[str, Any, dict[str, Any]]:
    """Time every candidate on the probe; return the winner, its model and the record to cache."""
    if len(cands) <= 1:
        backend = cands[0] if cands else DEFAULT_BACKEND
        return backend, None, _record(backend, {}, "only candidate")
    started = time.perf_counter()
    models: dict[str, Any] = {}
    for b in cands:
        try:
            models[b] = load(b)
            for _ in range(2):  # OpenVINO compiles kernels per shape on first sight
                _probe(models[b])
        except Exception as exc:  # a broken runtime is skipped, not fatal: others remain
            log.warning("encoder backend auto: %s failed its probe (%s); skipped", b, exc)
            models.pop(b, None)
    best: dict[str, list[float]] = {b: [math.inf] * 3 for b in models}
    for _ in range(ROUNDS):
        for b, m in models.items():
            best[b] = [min(x, y) for x, y in zip(best[b], _probe(m), strict=True)]
    if not models:
        return DEFAULT_BACKEND, None, _record(DEFAULT_BACKEND, {}, "every candidate failed")
    score = {b: math.exp(sum(math.log(t) for t in ts) / 3) for b, ts in best.items()}
    backend = min(score, key=score.__getitem__)
    timings = {
        b: {"short_ms": 1e3 * t[0], "long_ms": 1e3 * t[1], "batch_ms": 1e3 * t[2]}
        for b, t in best.items()
    }
    log.info(
        "encoder backend auto: chose %s for this CPU after %.1f s of measurement (best of %d "
        "rounds, ms short/long/batch of %d: %s)",
        backend,
        time.perf_counter() - started,
        ROUNDS,
        len(BATCH),
        "; ".join(
            f"{b} {v['short_ms']:.1f}/{v['long_ms']:.1f}/{v['batch_ms']:.1f}"
            for b, v in timings.items()
        ),
    )
    return backend, models[backend], _record(backend, timings, "measured")


def _probe(model: Any) -> list[float]:
    out = []
    for texts in ([SHORT], [LONG], BATCH):
        t = time.perf_counter()
        model.encode(texts, batch_size=len(BATCH), normalize_embeddings=True)
        out.append(time.perf_counter() - t)
    return out


def _record(backend: str, timings: dict[str, Any], how: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "how": how,
        "timings_ms": timings,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": _cpu_model(),
        "versions": {d: _version(d) for d in ("onnxruntime", "openvino")},
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, key: str, record: dict[str, Any]) -> None:
    """Add ``record`` under ``key``; atomic (a reader sees the old file or the new one)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**_read(path), key: record}
        fd, tmp = tempfile.mkstemp(prefix=".auto-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache: the choice holds for this process only
        log.warning("encoder backend auto: cannot save the choice to %s (%s)", path, exc)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _cpu_info() -> list[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read().split("\n\n")[0].splitlines()
    except OSError:
        return []


def _cpu_model() -> str:
    for line in _cpu_info():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    for line in _cpu_info():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()
