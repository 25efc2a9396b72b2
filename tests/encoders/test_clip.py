"""CLIP collections: texts and images in one space, through the same loader a real CLIP model uses."""

from __future__ import annotations

import pytest

import latentsearch as ls
from latentsearch.testing.tinyclip import caption, classes, shape_image


@pytest.fixture
def media(db: ls.Database, tiny_clip_path, tmp_path) -> ls.Collection:
    col = db.create_collection("media", encoder=str(tiny_clip_path))
    paths = []
    for color, shape in classes():
        p = tmp_path / f"{color}_{shape}.png"
        shape_image(color, shape, seed=101).save(p)
        paths.append(p)
    col.add(images=paths, ids=[p.stem for p in paths], metadata=[{"file": p.name} for p in paths])
    return col


def test_clip_identity(media: ls.Collection) -> None:
    assert media.identity is not None
    assert media.identity.kind == "clip" and media.identity.modalities == ("image", "text")
    assert media.encoder.supports_images


def test_text_finds_images(media: ls.Collection) -> None:
    correct = 0
    for color, shape in classes():
        hits = media.search(caption(color, shape), k=3)
        assert hits[0].kind == "image" and hits[0].text and hits[0].text.endswith(".png")
        correct += hits[0].id == f"{color}_{shape}"
    assert correct >= 0.9 * len(classes()), f"text->image top-1 only {correct}/{len(classes())}"


def test_image_finds_images_and_texts(media: ls.Collection) -> None:
    media.add(
        texts=[caption(c, s) for c, s in classes()], ids=[f"caption-{c}-{s}" for c, s in classes()]
    )
    correct_img = correct_txt = 0
    for color, shape in classes():
        query = shape_image(color, shape, seed=7)  # a different drawing of the same class
        correct_img += media.search(query, k=1)[0].id == f"{color}_{shape}"
        texts = [h for h in media.search(query, k=len(classes()) * 2) if h.kind == "text"]
        correct_txt += texts[0].id == f"caption-{color}-{shape}"
    assert correct_img >= 0.9 * len(classes())
    assert correct_txt >= 0.9 * len(classes())


def test_image_path_query(media: ls.Collection, tmp_path) -> None:
    from pathlib import Path

    p = Path(tmp_path / "q.png")
    shape_image("blue", "square", seed=9).save(p)
    assert media.search(p, k=1)[0].id == "blue_square"
