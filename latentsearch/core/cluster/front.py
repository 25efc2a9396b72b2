"""What `Database` does about a cluster, kept out of it: checks, connecting, dropping, status.

Imported by `latentsearch.db` at module level, so it imports nothing heavy: ``ray`` and the
rest of this package load inside the functions, when a cluster is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentsearch.errors import ClusterError, InvalidInputError
from latentsearch.index import VectorIndex

if TYPE_CHECKING:
    from latentsearch.core.cluster.connection import Cluster
    from latentsearch.results import ClusterStatus
    from latentsearch.store import Store


def check(cluster: str | None, database: str | None) -> None:
    """Before anything is opened: a cluster needs PostgreSQL, and Ray installed."""
    if cluster is None:
        return
    if database is None or database.startswith("sqlite"):
        raise InvalidInputError(
            "a cluster needs a SQL database every node can reach: give "
            "database='postgresql+psycopg://user@host:5432/dbname'"
        )
    from latentsearch.core.cluster.connection import import_ray

    import_ray()


def join(cluster: str | None, store: Store) -> Cluster | None:
    """Connect to the cluster (None: none asked); the store is closed if that fails."""
    if cluster is None:
        return None
    from latentsearch.core.cluster.connection import Cluster

    try:
        return Cluster(cluster)
    except Exception:
        store.close()
        raise


def layout(shards: int | None, replicas: int | None, cluster: bool) -> dict[str, int]:
    """The ``shards`` / ``replicas`` options of a new collection (checked; 1 on a cluster)."""
    out: dict[str, int] = {}
    for key, value in (("shards", shards), ("replicas", replicas)):
        if value is None:
            if cluster:
                out[key] = 1
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
            raise InvalidInputError(f"{key} must be an integer from 1 to 1024, not {value!r}")
        out[key] = value
    return out


def shape(options: Mapping[str, Any]) -> tuple[int, int]:
    """(shards, replicas) recorded in a collection's options (1, 1 when absent)."""
    return int(options.get("shards", 1)), int(options.get("replicas", 1))


def dropped(
    cluster: Cluster | None, store: Store, folder: Path, cid: int, options: Mapping[str, Any]
) -> None:
    """After a collection's row is deleted: stop its replicas for good, delete its shard files."""
    shards, replicas = shape(options)
    if cluster is not None:
        from latentsearch.core.cluster.connection import db_key
        from latentsearch.core.cluster.status import drop

        drop(cluster, db_key(store.url, folder), cid, shards, replicas)
    if "shards" in options:
        for shard in range(shards):
            VectorIndex.drop(folder / "shards", f"{cid}-{shard}")


def status(
    cluster: Cluster | None,
    store: Store,
    folder: Path,
    collections: Iterable[tuple[str, int, Mapping[str, Any]]],
) -> ClusterStatus:
    """`Database.cluster_status()` for ``collections`` ((name, id, options) each)."""
    if cluster is None:
        raise ClusterError(
            "this database was opened without a cluster: connect(..., cluster='auto')"
        )
    from latentsearch.core.cluster.connection import db_key
    from latentsearch.core.cluster.status import cluster_status

    shapes = [(name, cid, *shape(opts)) for name, cid, opts in collections]
    return cluster_status(cluster, db_key(store.url, folder), shapes)
