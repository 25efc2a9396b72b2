"""Joining a Ray cluster (``connect(..., cluster=...)``), with ``ray`` imported only here and only
then: an embedded user (``cluster=None``) never loads it, and need not have it installed."""

from __future__ import annotations

import hashlib
import logging
import socket
from pathlib import Path
from types import ModuleType
from typing import Any

from latentsearch.errors import ClusterError, InvalidInputError, MissingExtraError

log = logging.getLogger(__name__)

NAMESPACE = "latentsearch"  # every shard actor lives in this Ray namespace
INSTALL = "pip install 'latentsearch[distributed]'"


def import_ray() -> ModuleType:
    """The ``ray`` module, or `MissingExtraError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(
            f"cluster= needs Ray, which is not installed: {INSTALL} (on every node too)"
        ) from exc
    return ray


def db_key(url: str, folder: Path) -> str:
    """A short, stable key of (database, index folder): the prefix of this database's actor
    names, so that every front process opening the same pair finds the same actors."""
    raw = f"{url}|{folder.resolve()}".encode()
    return hashlib.sha256(raw).hexdigest()[:12]


class Cluster:
    """This process's connection to a Ray cluster (one per process: Ray allows one)."""

    def __init__(self, address: str) -> None:
        if not isinstance(address, str) or not address:
            raise InvalidInputError(
                f"cluster must be None, 'auto', 'host:port' or 'ray://host:port', not {address!r}"
            )
        self.ray = import_ray()
        self.address = address
        _reachable(address)
        ray = self.ray
        if ray.is_initialized():
            log.debug("reusing this process's Ray connection for cluster=%r", address)
        else:
            try:
                ray.init(
                    address=address,
                    namespace=NAMESPACE,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                )
            except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
                raise ClusterError(
                    f"cannot connect to the Ray cluster at {address!r}: {exc}. Start one with "
                    "'ray start --head' (and 'ray start --address HEAD:6379' on other nodes), or "
                    "give its address: cluster='host:6379' or 'ray://host:10001'"
                ) from exc
        log.info("connected to the Ray cluster at %s", address)

    def nodes(self) -> list[dict[str, Any]]:
        """Ray's node table (``ray.nodes()``)."""
        return list(self.ray.nodes())

    def alive_node_ids(self) -> list[str]:
        """Ids of the live nodes, in a stable order (placement counts on it)."""
        return sorted(n["NodeID"] for n in self.nodes() if n.get("Alive"))

    def gpus(self) -> float:
        """GPUs in the whole cluster."""
        return float(self.ray.cluster_resources().get("GPU", 0.0))


def _reachable(address: str) -> None:
    """Fail fast with `ClusterError` when nothing listens at ``host:port`` (Ray itself retries
    for a long time before giving up)."""
    if address == "auto":
        return
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInputError(
            f"cluster address {address!r} is not 'host:port', 'ray://host:port' or 'auto'"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=5.0):
            pass
    except OSError as exc:
        raise ClusterError(
            f"no Ray cluster answers at {address!r} ({exc}). Start one with 'ray start --head', "
            "or give the address of a running one"
        ) from exc
