"""Collections: create, open, list, drop; encoder identity; devices. On SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest

import latentsearch as ls
from latentsearch import errors
from latentsearch.encoders import get_encoder


def test_create_open_list_drop(db: ls.Database) -> None:
    docs = db.create_collection("docs", encoder="text")
    raw = db.create_collection("raw", dim=3, index="HNSW32")
    assert docs.dim == 384 and docs.identity is not None
    assert docs.identity.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert docs.identity.modalities == ("text",)
    assert raw.identity is None and raw.dim == 3
    infos = {c.name: c for c in db.collections()}
    assert set(infos) == {"docs", "raw"}
    assert infos["raw"].index == "HNSW32" and infos["docs"].count == 0
    assert db.collection("docs") is docs
    db.drop_collection("raw")
    assert [c.name for c in db.collections()] == ["docs"]
    with pytest.raises(errors.CollectionNotFoundError, match="create it with"):
        db.collection("raw")
    with pytest.raises(errors.CollectionNotFoundError):
        db.drop_collection("raw")


def test_reopen_in_new_process_state(index_path, database) -> None:
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.create_collection("docs", encoder="text")
        col.add(texts=["alpha particle", "beta decay"], ids=["a", "b"])
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.collection("docs")
        assert len(col) == 2 and col.verify()
        assert col.search("alpha", k=1)[0].id == "a"


def test_create_existing(db: ls.Database) -> None:
    db.create_collection("raw", dim=4)
    with pytest.raises(errors.CollectionExistsError, match="exist_ok"):
        db.create_collection("raw", dim=4)
    assert db.create_collection("raw", dim=4, exist_ok=True).dim == 4
    with pytest.raises(errors.CollectionExistsError, match="dim=4"):
        db.create_collection("raw", dim=5, exist_ok=True)


def test_encoder_mismatch_on_reopen(db: ls.Database, tiny_clip_path) -> None:
    db.create_collection("docs", encoder="text")
    with pytest.raises(errors.EncoderMismatchError, match="never mix"):
        db.collection("docs", encoder=str(tiny_clip_path))
    # the same model, given by its path instead of the alias, is the same latent space
    same = get_encoder(str(ls.encoders.bundled_text_model()), device="cpu")
    assert db.collection("docs", encoder=same).identity == db.collection("docs").identity


def test_missing_model_path(db: ls.Database, tmp_path) -> None:
    with pytest.raises(errors.ModelNotFoundError, match="does not exist"):
        db.create_collection("x", encoder=str(tmp_path / "no-such-model"))
    with pytest.raises(errors.ModelNotFoundError, match="never downloaded"):
        db.create_collection("x", encoder="some-org/model-not-in-cache")
    assert db.collections() == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "bad name!", "dim": 3}, errors.InvalidInputError),
        ({"name": "x", "dim": 0}, errors.InvalidInputError),
        ({"name": "x", "dim": 3, "metric": "hamming"}, errors.InvalidInputError),
        ({"name": "x", "dim": 3, "index": "NotAnIndex"}, errors.IndexBuildError),
        ({"name": "x", "encoder": "text", "dim": 10}, errors.InvalidInputError),
        ({"name": "x", "dim": 3, "device": "tpu"}, errors.DeviceError),
    ],
)
def test_bad_create_arguments(db: ls.Database, kwargs, error) -> None:
    with pytest.raises(error):
        db.create_collection(**kwargs)
    assert db.collections() == []


def test_cuda_requested_without_gpu(index_path) -> None:
    from latentsearch.device import torch_cuda_available

    if torch_cuda_available():
        pytest.skip("a GPU is present (gpu tests cover it)")
    with pytest.raises(errors.DeviceError, match="device='auto'"):
        ls.connect(index_path, device="cuda")


def test_device_choice_is_logged(index_path, caplog) -> None:
    caplog.set_level("INFO", logger="latentsearch")
    with ls.connect(index_path, device="auto") as db:
        db.create_collection("raw", dim=2).add(vectors=np.eye(2), ids=["a", "b"])
    assert any("device: cpu (asked 'auto')" in r.getMessage() for r in caplog.records)
