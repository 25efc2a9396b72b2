"""How many encoder actors a distributed build starts, and what each asks Ray for: one per CPU
(or GPU), a share of a CPU that leaves room for Ray Data's own tasks, never more than exist."""

from __future__ import annotations

import pytest

from latentsearch.errors import ClusterError, InvalidInputError
from latentsearch.ingest.encoder_pool import CPU_SHARE, plan_pool


def test_one_actor_per_cpu_leaving_room_for_ray_data() -> None:
    plan = plan_pool({"CPU": 2.0, "memory": 1e9}, [1.0, 1.0], None)
    assert (plan.workers, plan.num_gpus, plan.threads, plan.device) == (2, 0.0, 1, "cpu")
    assert plan.num_cpus == CPU_SHARE < 1.0
    assert plan.workers * plan.num_cpus < 2.0  # the pool never holds every CPU
    assert plan_pool({"CPU": 8.0}, [8.0], 3).workers == 3


def test_more_workers_than_cpus_is_refused_not_left_to_hang() -> None:
    with pytest.raises(InvalidInputError, match="give --workers 2 or fewer"):
        plan_pool({"CPU": 2.0}, [1.0, 1.0], 3)
    with pytest.raises(ClusterError, match="no CPU"):
        plan_pool({}, [], None)


def test_one_actor_per_gpu_when_there_are_gpus() -> None:
    plan = plan_pool({"CPU": 16.0, "GPU": 2.0}, [8.0, 8.0], None)
    assert (plan.workers, plan.num_gpus, plan.device) == (2, 1.0, "cuda")
    assert plan.num_cpus <= 1.0
    with pytest.raises(InvalidInputError, match="2 GPU"):
        plan_pool({"CPU": 16.0, "GPU": 2.0}, [8.0, 8.0], 4)


def test_the_share_shrinks_to_fit_beside_shard_actors() -> None:
    # Two 1-CPU nodes where four shard actors hold 0.25 CPU each: 0.5 free on each node.
    plan = plan_pool({"CPU": 2.0}, [0.5, 0.5], None)
    assert plan.workers == 2 and plan.num_cpus <= 0.45
    # Every actor finds a node, and each node keeps some of what it had free.
    assert all(f - plan.num_cpus > 0 for f in (0.5, 0.5))
    # One node busy, one free: both actors go to the free one.
    plan = plan_pool({"CPU": 2.0}, [0.0, 1.0], 2)
    assert plan.num_cpus * 2 < 1.0
    with pytest.raises(ClusterError, match="no room"):
        plan_pool({"CPU": 2.0}, [0.0, 0.0], 1)
