"""The fixture itself: two live nodes, actors spread over both, a node lost and regained."""

from __future__ import annotations

import ray
from raykit import RayCluster


@ray.remote(num_cpus=0.25)
class _Where:
    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()


def test_two_nodes_spread_and_recover(ray_cluster: RayCluster) -> None:
    assert ray_cluster.alive_nodes() == 2
    ray.shutdown()  # whatever driver an earlier module left connected
    ray.init(address=ray_cluster.address, logging_level="ERROR")
    try:
        actors = [_Where.options(scheduling_strategy="SPREAD").remote() for _ in range(2)]
        assert len(set(ray.get([a.node.remote() for a in actors]))) == 2
    finally:
        ray.shutdown()
    ray_cluster.stop_worker()
    assert ray_cluster.alive_nodes() == 1
    ray_cluster.start_worker()
    assert ray_cluster.alive_nodes() == 2
