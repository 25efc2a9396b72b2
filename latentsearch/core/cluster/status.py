"""`Database.cluster_status()`: the cluster's nodes and every shard replica of the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentsearch.core.cluster import gather, placement
from latentsearch.core.cluster.connection import Cluster
from latentsearch.results import ClusterNode, ClusterStatus, ShardReplica

STATUS_TIMEOUT_S = 5.0


def cluster_status(
    cluster: Cluster, key: str, collections: Sequence[tuple[str, int, int, int]]
) -> ClusterStatus:
    """``collections``: (name, id, shards, replicas) of each collection of the database."""
    ray = cluster.ray
    nodes = [
        ClusterNode(
            node_id=str(n["NodeID"]),
            address=str(n.get("NodeManagerAddress", "")),
            alive=bool(n.get("Alive")),
            cpus=float(n.get("Resources", {}).get("CPU", 0.0)),
            gpus=float(n.get("Resources", {}).get("GPU", 0.0)),
        )
        for n in cluster.nodes()
    ]
    asked: list[tuple[str, int, int, Any]] = []  # name, shard, replica, ref or None
    for name, cid, shards, replicas in collections:
        for shard in range(shards):
            for replica in range(replicas):
                handle = placement.lookup(cluster, placement.actor_name(key, cid, shard, replica))
                ref = handle.status.remote() if handle is not None else None
                asked.append((name, shard, replica, ref))
    refs = [a[3] for a in asked if a[3] is not None]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=STATUS_TIMEOUT_S) if refs else ([], [])
    done = set(ready)
    out = []
    for name, shard, replica, ref in asked:
        info: dict[str, Any] | None = None
        if ref is not None and ref in done:
            try:
                info = ray.get(ref)
            except gather.transient(ray):
                info = None
        out.append(
            ShardReplica(
                collection=name,
                shard=shard,
                replica=replica,
                node=info["node"] if info else None,
                pid=info["pid"] if info else None,
                alive=info is not None,
                seq=info["seq"] if info else None,
                vectors=info["vectors"] if info else None,
            )
        )
    return ClusterStatus(address=cluster.address, nodes=nodes, replicas=out)


def drop(cluster: Cluster, key: str, collection_id: int, shards: int, replicas: int) -> None:
    """Stop every replica of a dropped collection for good."""
    for shard in range(shards):
        for replica in range(replicas):
            handle = placement.lookup(
                cluster, placement.actor_name(key, collection_id, shard, replica)
            )
            if handle is not None:
                cluster.ray.kill(handle, no_restart=True)
