"""`Collection.map` and `Collection.project`, on SQLite and PostgreSQL: one point per visible item,
deterministic for a seed, cached until the collection changes, new points on the same map."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from explorekit import ticket_records, tickets, vector_collection

import latentsearch as ls


@pytest.fixture
def tix(db: ls.Database) -> ls.Collection:
    return tickets(db)


def coords(m: ls.LatentMap) -> dict[str, tuple[float, float]]:
    return {p.id: (p.x, p.y) for p in m.points}


def same_map(a: ls.LatentMap, b: ls.LatentMap, tol: float = 1e-5) -> None:
    assert [p.id for p in a.points] == [p.id for p in b.points]
    np.testing.assert_allclose(
        [(p.x, p.y) for p in a.points], [(p.x, p.y) for p in b.points], atol=tol
    )


def test_map_has_one_point_per_visible_item(tix: ls.Collection) -> None:
    records = {r["id"]: r for r in ticket_records()}
    for principals in (None, ["group:eng"], ["user:alice"], []):
        m = tix.map(method="pca", principals=principals)
        want = {
            i
            for i, r in records.items()
            if principals is None or "*" in r["acl"] or set(r["acl"]) & set(principals)
        }
        assert [p.id for p in m.points] == sorted(want)
        assert len(m.points) == tix.count(principals=principals)
        assert m.fitted_on == len(want) and m.method == "pca"
        p = next(p for p in m.points if p.id == "TICKET-110")
        assert p.title == records["TICKET-110"]["title"] and p.kind == "text"
        assert p.metadata == records["TICKET-110"]["metadata"]
        assert all(np.isfinite([q.x, q.y]).all() for q in m.points)


def test_map_is_deterministic_for_a_seed(
    tix: ls.Collection, index_path: Path, database: str | None
) -> None:
    first = tix.map(method="pca", seed=3)
    # A second handle on the same store has no cache: it fits again, and lands on the same map.
    other = ls.connect(index_path, database=database, device="cpu")
    try:
        again = other.collection("tickets").map(method="pca", seed=3)
    finally:
        other.close()
    assert not again.cached
    same_map(again, first)
    assert [(c.label, c.ids) for c in again.clusters] == [(c.label, c.ids) for c in first.clusters]


def test_umap_map_is_deterministic_and_keeps_groups_apart(
    db: ls.Database, index_path: Path, database: str | None
) -> None:
    col, groups = vector_collection(db, n_per=15)
    m = col.map(method="umap", seed=1, clusters=False)
    assert m.method == "umap" and len(m.points) == 45 and m.clusters == []
    other = ls.connect(index_path, database=database, device="cpu")
    try:
        again = other.collection("vecs").map(method="umap", seed=1, clusters=False)
    finally:
        other.close()
    same_map(again, m, 1e-4)
    # a stored vector projects onto its own point
    item = col.get("v007", include_vectors=True)
    assert item.vector is not None
    xy = col.project(item.vector, method="umap", seed=1)
    assert tuple(xy[0]) == pytest.approx(coords(m)["v007"], abs=1e-3)
    xy = np.asarray([(p.x, p.y) for p in m.points])
    g = np.asarray(groups)
    centres = np.stack([xy[g == k].mean(0) for k in range(3)])
    spread = max(np.linalg.norm(xy[g == k] - centres[k], axis=1).max() for k in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > spread  # each blob is a separate island on the map


def test_map_is_cached_until_the_collection_changes(db: ls.Database) -> None:
    col, _ = vector_collection(db, n_per=20)
    first = col.map(method="pca")
    assert not first.cached
    t = time.perf_counter()
    second = col.map(method="pca")
    assert second.cached and second.version == first.version and coords(second) == coords(first)
    assert time.perf_counter() - t < 2.0
    # One new item (under 10%): placed on the existing map, which keeps every other point.
    col.add(vectors=np.full((1, 16), 0.5, np.float32), ids=["new"])
    third = col.map(method="pca")
    assert third.cached and third.version != first.version and len(third.points) == 61
    old = coords(first)
    assert {k: v for k, v in coords(third).items() if k != "new"} == old
    # Many new items: refitted.
    rng = np.random.default_rng(5)
    col.add(vectors=rng.normal(size=(30, 16)) * 9, ids=[f"w{i}" for i in range(30)])
    fourth = col.map(method="pca")
    assert not fourth.cached and fourth.fitted_on == 91 and len(fourth.points) == 91


def test_small_writes_add_up_to_a_refit(db: ls.Database) -> None:
    col, _ = vector_collection(db, n_per=20)  # 60 items
    col.map(method="pca")
    rng = np.random.default_rng(9)
    refits = []
    for i in range(8):  # one item at a time: placed on the map until they are over 10%
        col.add(vectors=rng.normal(size=(1, 16)), ids=[f"n{i}"])
        refits.append(not col.map(method="pca").cached)
    assert refits == [False] * 6 + [True, False]  # 7 placed of 67 > 10%; then a fresh count


def test_where_selects_points_and_clusters_cover_them(tix: ls.Collection) -> None:
    m = tix.map(method="pca", where={"team": "eng"})
    assert {p.id for p in m.points} == {"TICKET-104", "TICKET-105", "TICKET-107", "TICKET-109"}
    assert sum(c.size for c in m.clusters) == 4
    assert {i for c in m.clusters for i in c.ids} == {p.id for p in m.points}
    assert all(p.cluster is not None for p in m.points)
    # The filter picks points; the projection is the caller's whole map.
    full = coords(tix.map(method="pca"))
    assert coords(m) == {k: full[k] for k in coords(m)}


def test_text_clusters_are_labelled_by_distinctive_terms(tix: ls.Collection) -> None:
    found = tix.clusters(2)
    assert [c.size for c in found] == sorted((c.size for c in found), reverse=True)
    assert sum(c.size for c in found) == 10
    for c in found:
        assert c.terms and c.label == ", ".join(c.terms[:3])
        assert c.medoid in c.ids and c.ids[0] == c.medoid
        # every term occurs in the titles or texts of the cluster's members
        texts = " ".join(
            f"{r['title']} {r['text']}".lower() for r in ticket_records() if r["id"] in c.ids
        )
        assert all(t in texts for t in c.terms)
    # the two groups' terms differ (class-based TF-IDF favours what sets a cluster apart)
    assert set(found[0].terms[:3]).isdisjoint(found[1].terms[:3])


def test_vector_collection_labels_fall_back_to_the_medoid(db: ls.Database) -> None:
    col, groups = vector_collection(db)
    found = col.clusters()
    assert len(found) == 3  # the silhouette finds the three blobs
    for c in found:
        assert c.terms == () and c.label == c.medoid
        assert len({groups[int(i[1:])] for i in c.ids}) == 1


def test_document_level_has_one_point_per_document(db: ls.Database) -> None:
    col = db.create_collection("chunks", dim=4, index="Flat")
    rng = np.random.default_rng(0)
    records = [
        {
            "id": f"d{d}#{j}",
            "vector": rng.normal(size=4).tolist(),
            "title": f"doc {d}",
            "chunk": {"parent": f"d{d}", "start": j, "end": j + 1},
        }
        for d in range(4)
        for j in range(3)
    ]
    col.add([*records, {"id": "solo", "vector": [1.0, 0, 0, 0], "title": "alone"}])
    chunks = col.map(method="pca")
    assert len(chunks.points) == 13
    assert {p.parent for p in chunks.points} == {"d0", "d1", "d2", "d3", None}
    docs = col.map(method="pca", level="document")
    assert [p.id for p in docs.points] == ["d0", "d1", "d2", "d3", "solo"]
    assert docs.points[0].title == "doc 0" and docs.points[-1].title == "alone"


def test_project_places_points_on_the_same_map(tix: ls.Collection) -> None:
    m = tix.map(method="pca")
    where = coords(m)
    item = tix.get("TICKET-101", include_vectors=True)
    assert item.vector is not None
    xy = tix.project(item.vector, method="pca")
    assert xy.shape == (1, 2) and tuple(xy[0]) == pytest.approx(where["TICKET-101"], abs=1e-4)
    assert tix.project({"id": "TICKET-105"}, method="pca")[0] == pytest.approx(
        where["TICKET-105"], abs=1e-4
    )
    several = tix.project(["vpn outage", {"expr": '"vpn" + "disk"'}, item.vector], method="pca")
    assert several.shape == (3, 2) and np.isfinite(several).all()
    # a query about the VPN lands nearer the VPN tickets than the finance one
    q = several[0]
    d = {k: np.hypot(q[0] - v[0], q[1] - v[1]) for k, v in where.items()}
    assert min(d["TICKET-101"], d["TICKET-102"]) < d["TICKET-108"]


def test_an_interpolation_path_is_drawn_on_the_map(tix: ls.Collection) -> None:
    where = coords(tix.map(method="pca"))
    steps = tix.interpolate("TICKET-101", "TICKET-105", steps=6)
    path = tix.project([s.vector for s in steps], method="pca")
    assert path.shape == (6, 2)
    assert tuple(path[0]) == pytest.approx(where["TICKET-101"], abs=1e-4)
    assert tuple(path[-1]) == pytest.approx(where["TICKET-105"], abs=1e-4)
    # the walk moves steadily from one end to the other along the line between them
    line = path[-1] - path[0]
    along = (path - path[0]) @ line / (line @ line)
    assert np.all(np.diff(along) > 0)
