"""The explorer on the tiny CLIP model's coloured shapes (SQLite and PostgreSQL): clusters recover
the classes, the axis "red" -> "blue" orders colours, sampling around "a red circle" draws red
circles and ``spread`` widens the draws; image clusters are labelled by nearest texts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from explorekit import shapes
from sklearn.metrics import adjusted_rand_score

import latentsearch as ls


@pytest.fixture
def gallery(db: ls.Database, tiny_clip_path) -> ls.Collection:
    return shapes(db, tiny_clip_path)  # 6 colours x 4 shapes x 6 seeds = 144 images


def classes(ids: list[str]) -> list[tuple[str, str]]:
    return [(i.split("-")[0], i.split("-")[1]) for i in ids]


def test_clusters_recover_colour_and_shape(gallery: ls.Collection) -> None:
    found = gallery.clusters()  # k chosen by the silhouette
    ids = [i for c in found for i in c.ids]
    assert sorted(ids) == sorted(p.id for p in gallery.map(method="pca", clusters=False).points)
    pred = [c.id for c in found for _ in c.ids]
    truth = [f"{c}/{s}" for c, s in classes(ids)]
    ari = adjusted_rand_score(truth, pred)
    assert ari >= 0.8, f"ARI {ari:.3f} with {len(found)} clusters"
    # every cluster is of one colour (and one shape): colour is recovered within each cluster
    pure = sum(len({c for c, _ in classes(list(cl.ids))}) == 1 for cl in found)
    assert pure >= 0.9 * len(found)
    # no text, no captions: each cluster is labelled by its medoid's id
    assert all(c.label == c.medoid and c.terms == () for c in found)


def test_axis_red_to_blue_orders_red_before_blue(gallery: ls.Collection) -> None:
    positions = gallery.axis("red", "blue")
    assert len(positions) == gallery.count()
    coords = [p.coord for p in positions]
    assert coords == sorted(coords)
    colours = [p.id.split("-")[0] for p in positions]
    last_red = max(i for i, c in enumerate(colours) if c == "red")
    first_blue = min(i for i, c in enumerate(colours) if c == "blue")
    assert last_red < first_blue
    # the poles are the ends of the scale: red items near 0, blue near 1
    red = np.mean([p.coord for p in positions if p.id.startswith("red")])
    blue = np.mean([p.coord for p in positions if p.id.startswith("blue")])
    assert red < 0.5 < blue
    # an axis between two items, or an expression, works too
    ends = gallery.axis({"id": "red-circle-0"}, {"expr": '"a blue square"'})
    assert ends[0].id.startswith("red") and ends[-1].id.startswith("blue")


def test_two_axes_make_a_plane(gallery: ls.Collection) -> None:
    colour = {p.id: p.coord for p in gallery.axis("a red circle", "a blue circle")}
    shape = {p.id: p.coord for p in gallery.axis("a red circle", "a red square")}
    red_square = np.mean([(colour[i], shape[i]) for i in colour if i.startswith("red-square")], 0)
    blue_circle = np.mean([(colour[i], shape[i]) for i in colour if i.startswith("blue-circle")], 0)
    assert red_square[1] > blue_circle[1] and blue_circle[0] > red_square[0]


def test_samples_around_a_red_circle_are_mostly_red_circles(gallery: ls.Collection) -> None:
    draws = gallery.sample(4, around="a red circle", seed=0)
    assert len(draws) == 4 and len({d.hit.id for d in draws}) == 4
    assert sum(d.hit.id.startswith("red-circle") for d in draws) >= 3
    for d in draws:
        assert d.vector.shape == (gallery.dim,) and d.distance >= 0
        item = gallery.get(d.hit.id, include_vectors=True)
        assert item.vector is not None
        v = item.vector / np.linalg.norm(item.vector)
        assert d.distance == pytest.approx(float(np.linalg.norm(d.vector - v)), abs=1e-4)


def test_spread_widens_the_samples(gallery: ls.Collection) -> None:
    query = gallery.embed_query("a red circle")

    def stats(spread: float) -> tuple[float, float]:
        share, sims = [], []
        for seed in range(6):
            draws = gallery.sample(4, around="a red circle", spread=spread, seed=seed)
            share.append(np.mean([d.hit.id.startswith("red-circle") for d in draws]))
            sims.append(np.mean([float(d.vector @ query) for d in draws]))
        return float(np.mean(share)), float(np.mean(sims))

    tight, wide = stats(0.25), stats(4.0)
    assert tight[0] >= 0.9 and wide[0] < tight[0]  # fewer red circles
    assert wide[1] < tight[1] - 0.02  # the draws lie further from the query


def test_samples_of_a_filtered_region_stay_in_it(gallery: ls.Collection) -> None:
    draws = gallery.sample(10, where={"color": "green"}, seed=2)
    assert len(draws) == 10 and all(d.hit.metadata["color"] == "green" for d in draws)
    # the region's own shape: more draws than items gives every item once, no repeats
    everything = gallery.sample(30, where={"shape": "cross", "color": "red"}, seed=1)
    assert sorted(d.hit.id for d in everything) == sorted(
        i
        for i in (p.id for p in gallery.map(method="pca", clusters=False).points)
        if i.startswith("red-cross")
    )


def test_image_clusters_take_labels_from_captions(db: ls.Database, tiny_clip_path) -> None:
    from latentsearch.testing.tinyclip import caption
    from latentsearch.testing.tinyclip import classes as all_classes

    col = shapes(db, tiny_clip_path, seeds=range(2), name="captioned")
    col.add(
        texts=[caption(c, s) for c, s in all_classes()],
        ids=[f"cap-{c}-{s}" for c, s in all_classes()],
    )

    def well_named(found: list[ls.Cluster]) -> int:
        right = 0
        for c in found:
            pictures = [i for i in c.ids if not i.startswith("cap-")]
            colour, shape = Counter(classes(pictures)).most_common(1)[0][0]
            right += colour in c.terms[:3] and shape in c.terms[:3]
        return right

    # The captions lie among the pictures (the tiny model has no modality gap): they join the
    # clusters, and class-based TF-IDF names each by its colour and shape.
    mixed = col.clusters()
    assert well_named(mixed) >= 0.8 * len(mixed), [(c.label, c.ids[:3]) for c in mixed]
    # Clustering the images only: each cluster is named by the visible captions nearest it.
    images = col.clusters(where={"kind": "image"})
    assert all(not i.startswith("cap-") for c in images for i in c.ids)
    assert well_named(images) >= 0.8 * len(images), [(c.label, c.ids[:3]) for c in images]
    # ...but only by captions the caller can see: with none visible, the medoid names it.
    col.upsert(
        texts=[caption(c, s) for c, s in all_classes()],
        ids=[f"cap-{c}-{s}" for c, s in all_classes()],
        acl=[["group:writers"]] * 24,
    )
    hidden = col.clusters(where={"kind": "image"}, principals=["*"])
    assert all(c.label == c.medoid and not c.terms for c in hidden)


def test_captions_in_metadata_label_image_clusters(db: ls.Database, tiny_clip_path) -> None:
    from latentsearch.testing.tinyclip import caption
    from latentsearch.testing.tinyclip import gallery as pictures

    col = db.create_collection("meta_captions", encoder=str(tiny_clip_path))
    images, labels = pictures(range(3))
    col.add(
        images=images,
        ids=[f"{c}-{s}-{i}" for i, (c, s) in enumerate(labels)],
        metadata=[{"caption": caption(c, s)} for c, s in labels],
    )
    found = col.clusters(24)
    assert all(c.terms for c in found)
    for c in found:
        colour, shape = Counter(classes(list(c.ids))).most_common(1)[0][0]
        assert colour in c.label or shape in c.label
