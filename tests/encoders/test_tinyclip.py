"""The tiny CLIP generator: layout, offline loading, real retrieval quality, and determinism.

The model is conftest's session-wide `tiny_clip_path` (trained once per run) and loaded exactly the
way a real sentence-transformers CLIP model is loaded.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentsearch.errors import InvalidInputError
from latentsearch.testing import tinyclip

# Gallery seeds far from the training seeds (seed * 1_000_003 + variant), so retrieval is
# measured on images the model never saw.
HELD_OUT_SEEDS = range(10**9, 10**9 + 5)


@pytest.fixture(scope="module")
def model_path(tiny_clip_path: Path) -> Path:
    """The run's one trained tiny CLIP (seed 0, default steps): no second training here."""
    return tiny_clip_path


def _load(path: Path):
    """Load with the hub offline and every socket connection refused."""
    import huggingface_hub.constants
    from sentence_transformers import SentenceTransformer

    def no_network(*args, **kwargs):
        raise OSError("network access attempted while loading the tiny CLIP model")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        mp.setattr(socket.socket, "connect", no_network)
        return SentenceTransformer(str(path), device="cpu")


@pytest.fixture(scope="module")
def model(model_path: Path):
    return _load(model_path)


@pytest.fixture(scope="module")
def gallery(model) -> tuple[np.ndarray, np.ndarray]:
    """Normalised embeddings of every colour x shape image for each held-out seed, and class ids."""
    images, labels = tinyclip.gallery(HELD_OUT_SEEDS)
    emb = model.encode(images, normalize_embeddings=True, convert_to_numpy=True)
    class_ids = np.array([tinyclip.classes().index(lab) for lab in labels])
    return emb, class_ids


@pytest.fixture(scope="module")
def caption_embeddings(model) -> np.ndarray:
    captions = [tinyclip.caption(c, s) for c, s in tinyclip.classes()]
    return model.encode(captions, normalize_embeddings=True, convert_to_numpy=True)


# --------------------------------------------------------------------------- data


def test_shape_image_is_deterministic_and_jittered() -> None:
    a = tinyclip.shape_image("red", "circle", seed=3)
    assert isinstance(a, Image.Image) and a.mode == "RGB" and a.size == (64, 64)
    assert a.tobytes() == tinyclip.shape_image("red", "circle", seed=3).tobytes()
    variants = {tinyclip.shape_image("red", "circle", seed=s).tobytes() for s in range(8)}
    assert len(variants) == 8
    assert tinyclip.shape_image("blue", "square", size=32).size == (32, 32)


def test_shape_image_draws_the_colour_on_a_light_background() -> None:
    for color, rgb in tinyclip.COLORS.items():
        pixels = (
            np.asarray(tinyclip.shape_image(color, "square", seed=1)).reshape(-1, 3).astype(int)
        )
        assert (pixels[0] >= 225).all(), "the corner pixel is background, light grey"
        matches = (np.abs(pixels - np.array(rgb)).max(axis=1) <= 2).mean()
        assert 0.15 < matches < 0.6, f"{color}: {matches:.2f} of pixels have the shape's colour"


def test_colours_are_well_separated() -> None:
    rgbs = np.array(list(tinyclip.COLORS.values()), dtype=float)
    dists = np.linalg.norm(rgbs[:, None] - rgbs[None], axis=-1)
    assert dists[~np.eye(len(rgbs), dtype=bool)].min() > 60


def test_caption_and_bad_names() -> None:
    assert tinyclip.caption("red", "circle") == "a red circle"
    assert len(tinyclip.classes()) == len(tinyclip.COLORS) * len(tinyclip.SHAPES)
    with pytest.raises(InvalidInputError):
        tinyclip.caption("teal", "circle")
    with pytest.raises(InvalidInputError):
        tinyclip.shape_image("red", "hexagon")
    with pytest.raises(InvalidInputError):
        tinyclip.build_tiny_clip("unused", steps=0)


# --------------------------------------------------------------------------- layout + loading


def test_layout_matches_the_hub_clip_model(model_path: Path) -> None:
    modules = json.loads((model_path / "modules.json").read_text())
    assert modules == [
        {
            "idx": 0,
            "name": "0",
            "path": "0_CLIPModel",
            "type": "sentence_transformers.models.CLIPModel",
        }
    ]
    assert "__version__" in json.loads(
        (model_path / "config_sentence_transformers.json").read_text()
    )
    module = model_path / "0_CLIPModel"
    for name in (
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "vocab.json",
        "merges.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ):
        assert (module / name).is_file(), name
    config = json.loads((module / "config.json").read_text())
    assert config["model_type"] == "clip" and config["architectures"] == ["CLIPModel"]
    preprocessor = json.loads((module / "preprocessor_config.json").read_text())
    assert preprocessor["image_processor_type"] == "CLIPImageProcessor"
    leftovers = [p.name for p in model_path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "temporary build folders were left behind"


def test_loads_as_a_sentence_transformers_clip_model(model) -> None:
    from sentence_transformers.sentence_transformer.modules.clip_model import CLIPModel
    from transformers import CLIPModel as HFCLIPModel

    assert isinstance(model[0], CLIPModel)
    assert isinstance(model[0].auto_model, HFCLIPModel)
    assert "text" in model.modalities and "image" in model.modalities
    assert model.get_embedding_dimension() == 32
    assert model.tokenizer.tokenize("a red circle") == ["a</w>", "red</w>", "circle</w>"]
    assert model.tokenizer.tokenize("Hello, World!")  # any text tokenizes (byte-level fallback)


def test_encodes_texts_and_images_to_one_space(model) -> None:
    text = model.encode(["a red circle", "a blue cross"])
    image = model.encode(
        [tinyclip.shape_image("red", "circle"), tinyclip.shape_image("blue", "cross")]
    )
    assert text.shape == image.shape == (2, 32)
    assert np.isfinite(text).all() and np.isfinite(image).all()
    # Texts and images share one space: each caption is closest to its own picture.
    assert (text @ image.T).argmax(axis=1).tolist() == [0, 1]
    assert (text @ image.T).argmax(axis=0).tolist() == [0, 1]
    # Any text encodes, even with words the model never saw.
    assert model.encode(["Hello, World! 123"]).shape == (1, 32)


def test_processor_sees_the_images_unresized(model) -> None:
    """The model's native size is the generator's, so the processor only rescales and normalises."""
    img = tinyclip.shape_image("green", "triangle", seed=5)
    pixels = model[0].processor.image_processor(img, return_tensors="np")["pixel_values"][0]
    mean = np.array([0.48145466, 0.4578275, 0.40821073])[:, None, None]
    std = np.array([0.26862954, 0.26130258, 0.27577711])[:, None, None]
    expected = (np.asarray(img, dtype=np.float64).transpose(2, 0, 1) / 255 - mean) / std
    np.testing.assert_allclose(pixels, expected, atol=1e-4)


# --------------------------------------------------------------------------- retrieval quality


def test_every_caption_retrieves_its_own_class_first(gallery, caption_embeddings) -> None:
    emb, class_ids = gallery
    sims = caption_embeddings @ emb.T
    top1 = class_ids[sims.argmax(axis=1)]
    wrong = [
        tinyclip.caption(*tinyclip.classes()[i])
        for i in np.flatnonzero(top1 != np.arange(len(top1)))
    ]
    assert wrong == [], f"captions whose best image is of another class: {wrong}"
    # Precision at k, k = number of images per class: most of each class ranks above all others.
    k = len(HELD_OUT_SEEDS)
    topk = np.argsort(-sims, axis=1)[:, :k]
    precision = (class_ids[topk] == np.arange(len(sims))[:, None]).mean()
    assert precision >= 0.95, f"text->image precision@{k} is {precision:.3f}"


def test_images_are_captioned_with_their_class(gallery, caption_embeddings) -> None:
    emb, class_ids = gallery
    accuracy = ((emb @ caption_embeddings.T).argmax(axis=1) == class_ids).mean()
    assert accuracy >= 0.95, f"image->text accuracy {accuracy:.3f}"


def test_image_nearest_neighbour_is_the_same_class(gallery) -> None:
    emb, class_ids = gallery
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    accuracy = (class_ids[sims.argmax(axis=1)] == class_ids).mean()
    assert accuracy >= 0.95, f"image->image nearest-neighbour accuracy {accuracy:.3f}"
    # Colour alone is never confused: the nearest neighbour always has the same colour.
    colors = np.array([c for c, _ in tinyclip.classes()])
    assert (colors[class_ids[sims.argmax(axis=1)]] == colors[class_ids]).all()


# --------------------------------------------------------------------------- building


def _weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path / "0_CLIPModel" / "model.safetensors"))


def test_same_seed_builds_identical_models(tmp_path: Path) -> None:
    a = tinyclip.build_tiny_clip(tmp_path / "a", seed=7, steps=10)
    b = tinyclip.build_tiny_clip(tmp_path / "b", seed=7, steps=10)
    c = tinyclip.build_tiny_clip(tmp_path / "c", seed=8, steps=10)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert wa.keys() == wb.keys()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not all(np.array_equal(wa[k], wc[k]) for k in wa)
    for name in (
        "config.json",
        "tokenizer.json",
        "vocab.json",
        "merges.txt",
        "preprocessor_config.json",
    ):
        assert (a / "0_CLIPModel" / name).read_bytes() == (b / "0_CLIPModel" / name).read_bytes()
    model_a, model_b = _load(a), _load(b)
    for inputs in (["a red circle"], [tinyclip.shape_image("red", "circle")]):
        np.testing.assert_array_equal(model_a.encode(inputs), model_b.encode(inputs))


def test_build_reuses_a_finished_model_unless_forced(tmp_path: Path) -> None:
    path = tinyclip.build_tiny_clip(tmp_path / "m", seed=1, steps=2)
    weights = path / "0_CLIPModel" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    os.utime(weights, ns=(before - 10**9, before - 10**9))
    assert tinyclip.build_tiny_clip(path, seed=1, steps=2) == path
    assert weights.stat().st_mtime_ns == before - 10**9, "a finished model was rebuilt"
    tinyclip.build_tiny_clip(path, seed=1, steps=2, force=True)
    assert weights.stat().st_mtime_ns != before - 10**9, "force did not rebuild"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_ensure_tiny_clip_builds_once(tmp_path: Path) -> None:
    first = tinyclip.ensure_tiny_clip(tmp_path, seed=2, steps=2)
    assert first.parent == tmp_path and (first / "modules.json").is_file()
    mtime = (first / "0_CLIPModel" / "model.safetensors").stat().st_mtime_ns
    assert tinyclip.ensure_tiny_clip(tmp_path, seed=2, steps=2) == first
    assert (first / "0_CLIPModel" / "model.safetensors").stat().st_mtime_ns == mtime


def test_build_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(InvalidInputError):
            tinyclip.build_tiny_clip(tmp_path / "keep", steps=1, force=force)
    assert (tmp_path / "keep" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
