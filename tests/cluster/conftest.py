"""Fixtures of the cluster tests: one real two-node Ray cluster for the whole session.

These tests run only inside the network namespace that `tests/test_cluster_suite.py` makes
(see `raykit`); the root conftest leaves this folder out of every other run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from raykit import RayCluster, isolated

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Two `ray start` nodes of one CPU each, stopped after the session. The test process is
    not connected to it: `ls.connect(..., cluster=ray_cluster.address)` does that."""
    assert isolated(), "cluster tests must run in their own network namespace (unshare -n)"
    cluster = RayCluster()
    try:  # a start that fails half-way (a busy machine) must not leave its head node running
        cluster.start()
        os.environ["RAY_ADDRESS"] = cluster.address
        yield cluster
    finally:
        cluster.stop()
