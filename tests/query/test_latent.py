"""Latent-space operations: interpolation (text and CLIP images), directions, centroids."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from query_support import unit
from sqlalchemy import func, inspect, select

import latentsearch as ls
from latentsearch.errors import (
    DirectionNotFoundError,
    InvalidInputError,
    ItemNotFoundError,
    UnsupportedModalityError,
)
from latentsearch.query.latent import slerp
from latentsearch.store import DirectionRow

WORDS = [
    "cat",
    "kitten",
    "dog",
    "puppy",
    "wolf",
    "lion",
    "tiger",
    "car",
    "truck",
    "bus",
    "train",
    "ocean",
    "sea",
    "river",
    "lake",
]


@pytest.fixture
def words(db: ls.Database) -> ls.Collection:
    col = db.create_collection("w", encoder="text")
    col.add(
        texts=WORDS,
        ids=WORDS,
        metadata=[{"vehicle": w in ("car", "truck", "bus", "train")} for w in WORDS],
    )
    return col


def _vec(col: ls.Collection, w: str) -> np.ndarray:
    return col.get(w, include_vectors=True).vector


def test_slerp_walks_the_great_circle_at_constant_speed() -> None:
    rng = np.random.default_rng(0)
    a, b = unit(rng.normal(size=8)), unit(rng.normal(size=8))
    omega = math.acos(float(a @ b))
    pts = [slerp(a, b, t) for t in np.linspace(0, 1, 6)]
    np.testing.assert_allclose(pts[0], a, atol=1e-6)
    np.testing.assert_allclose(pts[-1], b, atol=1e-6)
    for i, p in enumerate(pts):
        assert np.linalg.norm(p) == pytest.approx(1.0, abs=1e-6)
        angle = 2 * math.asin(
            float(np.linalg.norm(p.astype(np.float64) - a)) / 2
        )  # well conditioned
        assert angle == pytest.approx(omega * i / 5, abs=1e-5)
    with pytest.raises(InvalidInputError, match="opposite"):
        slerp(a, -a, 0.5)
    np.testing.assert_allclose(slerp(a, a, 0.3), a, atol=1e-6)


@pytest.mark.parametrize("method", ["slerp", "linear"])
def test_interpolate_between_items(words: ls.Collection, method) -> None:
    steps = words.interpolate("kitten", "truck", steps=6, method=method)
    assert [s.t for s in steps] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1])
    assert steps[0].hit.id == "kitten" and steps[-1].hit.id == "truck"
    a, b = _vec(words, "kitten"), _vec(words, "truck")
    for s in steps:
        expect = slerp(a, b, s.t) if method == "slerp" else unit((1 - s.t) * a + s.t * b)
        np.testing.assert_allclose(s.vector, expect, atol=1e-5)
        X = np.stack([_vec(words, w) for w in WORDS])
        assert s.hit.id == WORDS[int(np.argmax(X @ s.vector))]
        assert set(s.hit.why) == {"kitten", "truck"}


def test_interpolate_with_filters_k_and_text_ends(words: ls.Collection) -> None:
    steps = words.interpolate("a small cat", "a big truck", steps=4, k=2, where={"vehicle": True})
    assert all(len(s.hits) == 2 and all(h.metadata["vehicle"] for h in s.hits) for s in steps)
    assert words.interpolate("cat", "dog", steps=3, where={"vehicle": "nope"})[0].hit is None
    for bad in (dict(steps=1), dict(steps=10**6), dict(steps=2.5), dict(method="cubic")):
        with pytest.raises(InvalidInputError):
            words.interpolate("cat", "dog", **bad)


def test_directions_are_mean_differences_saved_by_name(
    db: ls.Database, words: ls.Collection
) -> None:
    d = words.direction(["car", "truck", "bus"], ["cat", "dog"], name="vehicular")
    expect = np.mean([_vec(words, w) for w in ("car", "truck", "bus")], 0) - np.mean(
        [_vec(words, w) for w in ("cat", "dog")], 0
    )
    np.testing.assert_allclose(d, expect, atol=1e-6)
    [info] = words.directions()
    assert (info.name, info.dim, info.positive, info.negative) == (
        "vehicular",
        words.dim,
        ("car", "truck", "bus"),
        ("cat", "dog"),
    )
    assert info.norm == pytest.approx(float(np.linalg.norm(expect)), abs=1e-5)
    # vec:<name> in an expression is the saved vector at unit length, like every term
    via_expr = words.query("kitten + vec:vehicular", k=5)
    q = unit(_vec(words, "kitten") + unit(expect))
    X = np.stack([_vec(words, w) for w in WORDS])
    order = [WORDS[i] for i in np.argsort(-(X @ q)) if WORDS[i] != "kitten"][:5]
    assert [h.id for h in via_expr] == order
    assert set(via_expr[0].why) == {"kitten", "vec:vehicular"}
    # saving again under the same name replaces it; unknown names are typed errors
    words.direction(["ocean"], ["lake"], name="vehicular")
    assert [x.positive for x in words.directions()] == [("ocean",)]
    with pytest.raises(DirectionNotFoundError):
        words.query("cat + vec:nothing")
    words.drop_direction("vehicular")
    with pytest.raises(DirectionNotFoundError):
        words.drop_direction("vehicular")
    assert words.directions() == []


def test_direction_from_text_and_bad_names(words: ls.Collection) -> None:
    d = words.direction([{"text": "sunny day"}], [{"text": "rainy day"}])
    np.testing.assert_allclose(
        d, words.embed_query("sunny day") - words.embed_query("rainy day"), atol=1e-6
    )
    for bad in ("", "a b", "-x", "x" * 201, 5):
        with pytest.raises(InvalidInputError):
            words.direction(["cat"], name=bad)
    with pytest.raises(InvalidInputError, match="cancel"):
        words.direction(["cat"], ["cat"])
    with pytest.raises(InvalidInputError):
        words.direction([])
    assert words.directions() == []


def test_directions_belong_to_their_collection(db: ls.Database, words: ls.Collection) -> None:
    words.direction(["car"], ["cat"], name="d1")
    other = db.create_collection("other", encoder="text")
    other.add(texts=["x"], ids=["x"])
    with pytest.raises(DirectionNotFoundError):
        other.query("x + vec:d1")
    db.drop_collection("w")
    with db.store.session() as s:
        assert s.scalar(select(func.count()).select_from(DirectionRow)) == 0
    assert "ls_directions" in inspect(db.store.engine).get_table_names()


def test_centroid(words: ls.Collection) -> None:
    np.testing.assert_allclose(
        words.centroid(["cat", "dog"]), (_vec(words, "cat") + _vec(words, "dog")) / 2, atol=1e-6
    )
    vehicles = np.mean([_vec(words, w) for w in ("car", "truck", "bus", "train")], 0)
    np.testing.assert_allclose(words.centroid(where={"vehicle": True}), vehicles, atol=1e-6)
    np.testing.assert_allclose(
        words.centroid(), np.mean([_vec(words, w) for w in WORDS], 0), atol=1e-6
    )
    with pytest.raises(ItemNotFoundError):
        words.centroid(["cat", "unicorn"])
    with pytest.raises(ItemNotFoundError):
        words.centroid(where={"vehicle": "maybe"})
    with pytest.raises(InvalidInputError):
        words.centroid(["cat"], where={"vehicle": True})
    with pytest.raises(InvalidInputError):
        words.centroid([])


# -- CLIP: text and images in one space ------------------------------------------------------------
@pytest.fixture
def shapes(db: ls.Database, tiny_clip_path):
    from latentsearch.testing.tinyclip import gallery

    col = db.create_collection("shapes", encoder=str(tiny_clip_path))
    images, labels = gallery([0, 1])
    col.add(
        images=images,
        ids=[f"{c}-{s}-{i}" for i, (c, s) in enumerate(labels)],
        metadata=[{"color": c, "shape": s} for c, s in labels],
    )
    return col


def test_clip_interpolation_morphs_red_circle_into_blue_square(shapes: ls.Collection) -> None:
    from latentsearch.testing.tinyclip import COLORS

    for method in ("slerp", "linear"):
        steps = shapes.interpolate("a red circle", "a blue square", steps=8, method=method)
        colors = [s.hit.metadata["color"] for s in steps]
        assert colors[0] == "red" and steps[0].hit.metadata["shape"] == "circle"
        assert colors[-1] == "blue"
        # redness (R − B of the hit's colour) never increases along the path: red → … → blue
        redness = [COLORS[c][0] - COLORS[c][2] for c in colors]
        assert all(a >= b for a, b in itertools.pairwise(redness)), colors


def test_clip_image_terms(shapes: ls.Collection, tmp_path) -> None:
    from latentsearch.testing.tinyclip import COLORS, shape_image

    def redness(hits) -> float:  # R − B of the hits' colours: red 185, purple −50, blue −195
        return float(
            np.mean([COLORS[h.metadata["color"]][0] - COLORS[h.metadata["color"]][2] for h in hits])
        )

    path = tmp_path / "red_circle.png"
    shape_image("red", "circle", seed=7).save(path)
    plain = shapes.search(path, k=3)
    assert plain[0].metadata["color"] == "red"
    # subtracting "red" and adding "blue" moves the answers from red towards blue...
    shifted = shapes.query(f'image:{path} - "red" + "blue"', k=3)
    assert shifted[0].metadata["color"] != "red" and redness(shifted) < 0 < redness(plain)
    assert set(shifted[0].why) == {f"image:{path}", "red", "blue"}
    # ...and swapping the whole caption lands on blue shapes
    swapped = shapes.query(f'image:{path} - "a red circle" + "a blue circle"', k=3)
    assert [h.metadata["color"] for h in swapped] == ["blue"] * 3
    # the same arithmetic through analogy(), with a PIL image as a term
    pil = shapes.analogy(
        [shape_image("red", "circle", seed=7), "a blue circle"], ["a red circle"], k=3
    )
    assert [h.id for h in pil] == [h.id for h in swapped]


def test_image_terms_in_a_text_collection_are_typed_errors(words: ls.Collection, tmp_path) -> None:
    from latentsearch.testing.tinyclip import shape_image

    path = tmp_path / "x.png"
    shape_image("red", "circle").save(path)
    for call in (
        lambda: words.search(path),
        lambda: words.search(shape_image("red", "circle")),
        lambda: words.query(f"cat + image:{path}"),
        lambda: words.analogy([shape_image("red", "circle")], ["cat"]),
        lambda: words.interpolate({"image": str(path)}, "cat"),
    ):
        with pytest.raises(UnsupportedModalityError, match="text only"):
            call()
