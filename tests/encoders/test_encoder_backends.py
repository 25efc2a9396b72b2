"""Encoder backends: each one embeds like torch float32, exports are cached, names are checked,
and a collection opens under any backend of its model (real model, real exports, no mocks)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from corpus import run

import latentsearch as ls
from latentsearch.encoders import BACKENDS, EncoderIdentity, bundled_text_model, get_encoder
from latentsearch.encoders.backends import resolve_backend
from latentsearch.encoders.export import CACHE_ENV, META, ensure_export
from latentsearch.encoders.st import _torch, fingerprint
from latentsearch.errors import EncoderBackendError

TEXTS = [
    "hello world",
    "The VPN drops every few minutes after the last update.",
    "How do I reset my password?",
    "Aerodynamic heating of a blunt body at hypersonic speed, measured in a shock tunnel.",
    "Quarterly revenue grew 12% on strong subscription sales in Europe and Asia.",
    "A cat sleeps on the warm windowsill while the rain falls outside.",
    "boundary layer transition on a flat plate " * 40,  # past the 256-token limit: truncated
]
EXPORTED = [b for b in BACKENDS if b != "torch"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh export cache for this module (exports are made once, in the first test)."""
    root = tmp_path_factory.mktemp("ls-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root))
        yield root


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return get_encoder("text", device="cpu", backend="torch").encode_texts(TEXTS)


@pytest.mark.slow
def test_export_is_cached_atomically_and_reused(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = bundled_text_model()
    fp = fingerprint(folder)
    with caplog.at_level(logging.INFO, logger="latentsearch.encoders.export"):
        first = ensure_export(fp, "onnx-int8", lambda: _torch(folder, "cpu"))
        again = ensure_export(fp, "onnx-int8", lambda: pytest.fail("exported twice"))
    assert first == again == cache / "models" / fp / "onnx-int8-v2"
    exports = [r.message for r in caplog.records if r.message.startswith("exporting")]
    assert len(exports) == 2  # the float32 export, then its int8 quantisation; never again
    for variant in ("onnx-v2", "onnx-int8-v2"):
        out = cache / "models" / fp / variant
        assert {"model.onnx", "tokenizer.json", META} <= {p.name for p in out.iterdir()}
        assert json.loads((out / META).read_text())["dim"] == 384
    assert not [p for p in (cache / "models" / fp).iterdir() if p.name.startswith(".")]
    assert not any(p.is_relative_to(folder) for p in cache.rglob("*"))  # site-packages untouched


@pytest.mark.slow
@pytest.mark.parametrize("backend", EXPORTED)
def test_backend_embeds_like_torch(cache: Path, reference: np.ndarray, backend: str) -> None:
    enc = get_encoder("text", device="cpu", backend=backend)
    assert enc.identity.backend == backend and enc.dim == 384
    assert enc.model.max_seq_length == 256  # type: ignore[attr-defined]
    assert enc.model.tokenizer("hi")["input_ids"] == [101, 7632, 102]  # type: ignore[attr-defined]
    got = enc.encode_texts(TEXTS)
    assert got.dtype == np.float32 and got.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * reference).sum(axis=1)
    one = enc.encode_texts(TEXTS[1:2])[0]
    if backend.endswith("int8"):
        # int8 weights: within S5's nDCG gate, but single texts move by ~1%, and the activation
        # scale is per batch, so a vector also depends a little on its batch-mates
        assert cos.mean() >= 0.99 and cos.min() >= 0.98, cos
        assert float(one @ got[1]) >= 0.99
    else:
        assert cos.min() >= 0.999, cos
        np.testing.assert_allclose(one, got[1], atol=2e-3)  # padding never changes a vector


@pytest.mark.slow
def test_collection_reopens_under_another_backend(cache: Path, tmp_path: Path) -> None:
    with ls.connect(tmp_path, device="cpu", encoder_backend="torch") as db:
        col = db.create_collection("docs", index="Flat")
        col.add(texts=TEXTS, ids=[f"d{i}" for i in range(len(TEXTS))])
        assert col.identity is not None and col.identity.backend == "torch"
    with ls.connect(tmp_path, device="cpu", encoder_backend="onnx-int8") as db:
        col = db.collection("docs")
        assert col.encoder.identity.backend == "onnx-int8"
        assert col.identity is not None and col.identity.same_space(col.encoder.identity)
        for i, text in enumerate(TEXTS):
            assert col.search(text, k=1)[0].id == f"d{i}"
        [info] = db.collections()
        assert info.encoder is not None and info.encoder.backend == "torch"  # what built it


def test_identity_without_backend_reads_as_torch() -> None:
    """Collections recorded before backends existed open unchanged."""
    d = get_encoder("text", device="cpu", backend="torch").identity.to_dict()
    del d["backend"]
    old = EncoderIdentity.from_dict(d)
    assert old.backend == "torch"
    assert old.same_space(EncoderIdentity.from_dict({**d, "backend": "onnx-int8"}))


def test_unknown_backend_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EncoderBackendError, match=r"unknown encoder backend 'tensorrt'.*onnx-int8"):
        ls.connect(tmp_path, encoder_backend="tensorrt")
    with pytest.raises(EncoderBackendError, match="unknown encoder backend"):
        get_encoder("text", backend="onnx-fp8")
    monkeypatch.setenv("LATENTSEARCH_ENCODER_BACKEND", "nope")
    with pytest.raises(EncoderBackendError, match="unknown encoder backend 'nope'"):
        ls.connect(tmp_path)
    monkeypatch.delenv("LATENTSEARCH_ENCODER_BACKEND")
    result = run("--backend", "nope", "info", "--index", str(tmp_path))
    assert result.exit_code == 2 and "unknown encoder backend 'nope'" in result.stderr


def test_images_and_gpus_use_torch(tmp_path: Path) -> None:
    clip = tmp_path / "clip"
    clip.mkdir()
    (clip / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "0_CLIPModel",
                    "type": "sentence_transformers.models.CLIPModel",
                }
            ]
        )
    )
    assert resolve_backend("auto", folder=clip, device="cpu") == "torch"
    assert resolve_backend("auto", folder=bundled_text_model(), device="cuda") == "torch"
    with pytest.raises(EncoderBackendError, match=r"supports text models .*use backend='torch'"):
        resolve_backend("onnx", folder=clip, device="cpu")
    with pytest.raises(EncoderBackendError, match="CPU only"):
        resolve_backend("onnx-int8", folder=bundled_text_model(), device="cuda")
