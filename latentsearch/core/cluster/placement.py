"""Where shard replicas run: their names, their Ray options and the node each prefers.

Rules:

* name: ``<db-key>/<collection id>/<shard>/<replica>`` in namespace ``latentsearch``, detached and
  created with ``get_if_exists``: every front process that opens the collection gets the same
  actors, and they outlive the process that created them;
* node: replica ``r`` of shard ``i`` prefers live node ``(i + r) % nodes`` (node ids in a stable
  order), so the replicas of a shard sit on different nodes whenever there are at least as many
  nodes as replicas, and shards spread over the nodes. The affinity is soft: when that node is
  lost, Ray restarts the replica on another node (``max_restarts=-1``);
* resources: a fraction of a CPU each (``num_cpus``, default `DEFAULT_CPUS`) and one FAISS thread
  per replica, so replicas never oversubscribe a node; a fraction of a GPU when the cluster has
  GPUs (`DEFAULT_GPUS`).
"""

from __future__ import annotations

from typing import Any

from latentsearch.core.cluster.connection import NAMESPACE, Cluster
from latentsearch.core.cluster.shard import ShardServer, ShardSpec

DEFAULT_CPUS = 0.25
DEFAULT_GPUS = 0.25

_remote: dict[int, Any] = {}  # the Ray actor class, made once per process


def actor_name(key: str, collection_id: int, shard: int, replica: int) -> str:
    return f"{key}/{collection_id}/{shard}/{replica}"


def preferred_node(nodes: list[str], shard: int, replica: int) -> str | None:
    """The node replica ``replica`` of ``shard`` should start on (None: let Ray choose)."""
    if not nodes:
        return None
    return nodes[(shard + replica) % len(nodes)]


def actor_class(cluster: Cluster) -> Any:
    if not _remote:
        _remote[0] = cluster.ray.remote(ShardServer)
    return _remote[0]


def start(
    cluster: Cluster,
    name: str,
    spec: ShardSpec,
    node: str | None,
    *,
    num_cpus: float = DEFAULT_CPUS,
    num_gpus: float = 0.0,
) -> Any:
    """The actor ``name``: the running one, or a new one started for ``spec`` on ``node``."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "lifetime": "detached",
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": 0,  # a failed call is retried on another replica, not queued
        "num_cpus": num_cpus,
    }
    if num_gpus:
        options["num_gpus"] = num_gpus
    if node is not None:
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
    return actor_class(cluster).options(**options).remote(spec)


def lookup(cluster: Cluster, name: str) -> Any | None:
    """The running actor ``name``, or None (it was never started, or was killed for good)."""
    try:
        return cluster.ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        return None
