"""``backend="auto"``: measured once per machine at first use, cached beside the exports, reused,
logged, overridden by an explicit backend, and within the quality bound (real model, real
runtimes; the exports are the user's cache's, linked into a fresh cache so the choice is new)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latentsearch.encoders import autotune, get_encoder
from latentsearch.encoders.export import CACHE_ENV, ensure_export, export_dir
from latentsearch.encoders.st import _models, _torch, bundled_text_model, fingerprint

TEXTS = [
    "How do I reset my password?",
    "The VPN drops every few minutes after the last update.",
    "Aerodynamic heating of a blunt body at hypersonic speed, measured in a shock tunnel.",
]
LOG = "latentsearch.encoders.autotune"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cache holding links to the user's exports (made there first if missing)."""
    folder = bundled_text_model()
    fp = fingerprint(folder)
    for variant in ("onnx", "onnx-int8"):
        src = ensure_export(fp, variant, lambda: _torch(folder, "cpu"))
        dest = tmp_path / "models" / fp / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(src, target_is_directory=True)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.delenv("LATENTSEARCH_ENCODER_BACKEND", raising=False)
    monkeypatch.setenv(autotune.INT8_ENV, "1")  # every candidate, int8 included
    monkeypatch.setattr(autotune, "ROUNDS", 1)  # the logic, not the statistics, is under test
    autotune._chosen.clear()
    yield tmp_path / "models" / fp / autotune.CHOICE_FILE
    autotune._chosen.clear()


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG]


@pytest.mark.slow
def test_choice_is_measured_cached_reused_and_logged(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG):
        enc = get_encoder("text", device="cpu")
    chosen = enc.identity.backend
    assert chosen in autotune.CANDIDATES
    [line] = [m for m in messages(caplog) if "chose" in m]
    assert f"chose {chosen}" in line and "openvino" in line and "onnx-int8" in line
    record = json.loads(cache.read_text())[autotune.machine_key()]
    assert record["backend"] == chosen and record["how"] == "measured"
    assert set(record["timings_ms"]) == set(autotune.CANDIDATES)  # all three, int8 verified
    fastest = min(
        record["timings_ms"],
        key=lambda b: np.prod(list(record["timings_ms"][b].values())),
    )
    assert fastest == chosen

    # A new process (the in-process memo cleared) reads the file: no second measurement.
    autotune._chosen.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOG):
        again = get_encoder("text", device="cpu")
    assert again.identity.backend == chosen
    assert not [m for m in messages(caplog) if "chose" in m]
    assert any("measured on this machine" in m for m in messages(caplog))

    # The file decides: another recorded choice is what auto then means.
    other = next(b for b in autotune.CANDIDATES if b != chosen)
    data = json.loads(cache.read_text())
    data[autotune.machine_key()]["backend"] = other
    cache.write_text(json.dumps(data))
    autotune._chosen.clear()
    assert get_encoder("text", device="cpu").identity.backend == other


@pytest.mark.slow
def test_another_machine_key_measures_again(cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"another-cpu": {"backend": "onnx", "how": "measured"}}))
    with caplog.at_level(logging.INFO, logger=LOG):
        backend = get_encoder("text", device="cpu").identity.backend
    assert any("chose" in m for m in messages(caplog))
    data = json.loads(cache.read_text())
    assert set(data) == {"another-cpu", autotune.machine_key()}  # the other entry is kept
    assert data[autotune.machine_key()]["backend"] == backend


@pytest.mark.slow
def test_an_explicit_backend_overrides_the_choice(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({autotune.machine_key(): {"backend": "onnx-int8"}}))
    assert get_encoder("text", device="cpu").identity.backend == "onnx-int8"
    assert get_encoder("text", device="cpu", backend="onnx").identity.backend == "onnx"
    monkeypatch.setenv("LATENTSEARCH_ENCODER_BACKEND", "openvino")
    assert get_encoder("text", device="cpu").identity.backend == "openvino"
    assert get_encoder("text", device="cpu", backend="torch").identity.backend == "torch"


def test_int8_only_for_models_verified_within_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    fp = fingerprint(bundled_text_model())
    monkeypatch.delenv(autotune.INT8_ENV, raising=False)
    assert "onnx-int8" not in autotune.candidates(fp)  # not without the opt-in
    monkeypatch.setenv(autotune.INT8_ENV, "1")
    assert autotune.INT8_VERIFIED[fp] >= autotune.INT8_GATE
    assert "onnx-int8" in autotune.candidates(fp)
    assert "onnx-int8" not in autotune.candidates("an-unverified-model")
    assert "openvino" in autotune.candidates("an-unverified-model")


@pytest.mark.slow
def test_auto_results_stay_within_the_bound(cache: Path) -> None:
    """Whatever auto picks embeds like torch float32: cosine ≥ 0.99 (S5's nDCG bound's scale)."""
    ref = get_encoder("text", device="cpu", backend="torch").encode_texts(TEXTS)
    for backend in autotune.CANDIDATES:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({autotune.machine_key(): {"backend": backend}}))
        autotune._chosen.clear()
        enc = get_encoder("text", device="cpu")
        assert enc.identity.backend == backend
        cos = (enc.encode_texts(TEXTS) * ref).sum(axis=1)
        assert cos.min() >= 0.98 and cos.mean() >= 0.99, (backend, cos)
    assert export_dir(fingerprint(bundled_text_model()), "onnx").is_relative_to(cache.parents[2])
    assert any(k[2] == "onnx-int8" for k in _models)  # loaded once, kept for the process


def test_int8_vectors_depend_on_their_batch_mates() -> None:
    """Why int8 is opt-in: the same text embeds differently alone and in a batch (float32 does
    not), so a store's vectors would depend on how its build was batched."""
    drift = {}
    for backend in ("onnx", "onnx-int8"):
        enc = get_encoder("text", device="cpu", backend=backend)
        alone = enc.encode_texts(TEXTS[:1])[0]
        together = enc.encode_texts(TEXTS)[0]
        drift[backend] = float(np.abs(alone - together).max())
    assert drift["onnx"] < 1e-5 < 1e-3 < drift["onnx-int8"], drift
