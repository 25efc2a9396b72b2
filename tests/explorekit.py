"""Collections the explorer tests share: the sample tickets, clustered vectors, tiny CLIP shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import latentsearch as ls

ROOT = Path(__file__).resolve().parents[1]


def ticket_records() -> list[dict[str, Any]]:
    """samples/tickets.jsonl as records (title, url, metadata and ACL kept)."""
    out = []
    for line in (ROOT / "samples" / "tickets.jsonl").read_text().splitlines():
        r = json.loads(line)
        meta = {k: r[k] for k in ("team", "priority", "status")}
        out.append(
            {
                "id": r["id"],
                "text": r["text"],
                "title": r["title"],
                "uri": r["url"],
                "metadata": meta,
                "acl": r["acl"],
            }
        )
    return out


def tickets(db: ls.Database, name: str = "tickets") -> ls.Collection:
    col = db.create_collection(name, encoder="text")
    col.add(ticket_records())
    return col


def blobs(
    n_per: int = 20, groups: int = 3, dim: int = 16, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """``groups`` well separated Gaussian blobs of ``n_per`` vectors each, and each row's group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim)) * 4
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centres]).astype(np.float32)
    return x, [g for g in range(groups) for _ in range(n_per)]


def vector_collection(
    db: ls.Database, name: str = "vecs", **kw: Any
) -> tuple[ls.Collection, list[int]]:
    """A raw-vector collection of `blobs`, ids ``v000``..., metadata ``{"g": group}``."""
    x, g = blobs(**kw)
    col = db.create_collection(name, dim=x.shape[1], index="Flat")
    col.add(vectors=x, ids=[f"v{i:03d}" for i in range(len(x))], metadata=[{"g": v} for v in g])
    return col, g


def shapes(
    db: ls.Database, model: Path, seeds: range = range(6), name: str = "shapes"
) -> ls.Collection:
    """The tiny CLIP model's gallery: every (colour, shape) once per seed, ids ``red-circle-0``..."""
    from latentsearch.testing.tinyclip import gallery

    col = db.create_collection(name, encoder=str(model))
    images, labels = gallery(seeds)
    col.add(
        images=images,
        ids=[f"{c}-{s}-{i}" for i, (c, s) in enumerate(labels)],
        metadata=[{"color": c, "shape": s} for c, s in labels],
    )
    return col
