"""`connect()` and `Database`: a folder of FAISS indexes plus a SQL store (SQLite or PostgreSQL)."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from types import TracebackType

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from latentsearch.collection import Collection, CollectionInfo
from latentsearch.core import opening as folders
from latentsearch.core.cluster import front
from latentsearch.core.encoder_slot import EncoderSlot, build_encoder, check_identity
from latentsearch.core.options import check_acl, check_name, index_options
from latentsearch.core.parts import assemble
from latentsearch.core.settings import CollectionSettings
from latentsearch.device import resolve_device
from latentsearch.encoders import Encoder, EncoderIdentity
from latentsearch.encoders.backends import requested as requested_backend
from latentsearch.encoders.cache import DEFAULT_QUERY_CACHE, check_size
from latentsearch.errors import CollectionExistsError, CollectionNotFoundError, InvalidInputError
from latentsearch.index import METRICS, VectorIndex, configure
from latentsearch.index.files import disk_bytes, index_name, sweep
from latentsearch.results import ClusterStatus
from latentsearch.store import CollectionRow, Store, opening
from latentsearch.store import items as sql
from latentsearch.store.engine import SQLITE_FILE, sqlite_url

log = logging.getLogger(__name__)

DEFAULT_PATH = "indexes/default"


def connect(
    path: str | Path = DEFAULT_PATH,
    *,
    database: str | None = None,
    device: str = "auto",
    batch_size: int = 64,
    query_cache_size: int = DEFAULT_QUERY_CACHE,
    encoder_backend: str | None = None,
    read_only: bool | None = None,
    cluster: str | None = None,
) -> Database:
    """Open (creating if needed) an index folder.

    ``database`` is a SQLAlchemy URL for the metadata store; by default a SQLite file in the
    folder. ``device`` (``"auto"|"cpu"|"cuda"``) is the default for encoders and indexes,
    ``batch_size`` the number of texts or images encoded per forward pass, and
    ``query_cache_size`` how many query-text embeddings each encoder keeps (LRU; 0 disables).
    ``encoder_backend`` runs the encoders: ``"auto"`` (default, or
    ``$LATENTSEARCH_ENCODER_BACKEND``), ``"torch"``, ``"onnx"``, ``"onnx-int8"`` or
    ``"openvino"`` (see docs/python-api.md, "Encoder backends").

    ``read_only``: None (default) opens read-only when this process may not write the folder
    or its SQLite file; True always does. A read-only index searches normally; every write
    raises `ReadOnlyError` and nothing is written to the folder. A ``path`` that is a file (or
    cannot be created) raises `InvalidInputError`; a damaged SQLite file `StoreError`.
    ``cluster``: ``"auto"``, ``"host:6379"`` or ``"ray://host:10001"`` serves collections from
    shard actors on that Ray cluster (needs PostgreSQL and Ray; docs/cluster.md).
    """
    return Database(
        path,
        database=database,
        device=device,
        batch_size=batch_size,
        query_cache_size=query_cache_size,
        encoder_backend=encoder_backend,
        read_only=read_only,
        cluster=cluster,
    )


class Database:
    """Collections stored under one folder (FAISS files) and one SQL database (metadata)."""

    def __init__(
        self,
        path: str | Path,
        *,
        database: str | None = None,
        device: str = "auto",
        batch_size: int = 64,
        query_cache_size: int = DEFAULT_QUERY_CACHE,
        encoder_backend: str | None = None,
        read_only: bool | None = None,
        cluster: str | None = None,
    ) -> None:
        front.check(cluster, database)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive integer, not {batch_size!r}")
        self.batch_size = batch_size
        configure()  # FAISS's process-wide settings (idempotent; importing FAISS sets none)
        self.query_cache_size = check_size(query_cache_size)
        self.encoder_backend = requested_backend(encoder_backend)  # unknown names fail here
        if read_only is not None and not isinstance(read_only, bool):
            raise InvalidInputError(f"read_only must be True, False or None, not {read_only!r}")
        self.path = folders.folder(path, create=not read_only)
        resolve_device(device, what="encoder")  # validate early and log the choice
        self.device = device
        db_file = None if database else self.path / SQLITE_FILE
        why = "opened with read_only=True" if read_only else None
        if read_only is None:
            why = opening.writable(self.path, db_file)
        if why is None:
            self.store = Store(database or sqlite_url(self.path))
        else:
            url = database or opening.sqlite_read_only_url(self.path / SQLITE_FILE)
            self.store = Store(url, read_only_reason=why)
            log.info("opened %s read-only: %s", self.path, why)
        folders.protect_sqlite(self.store)
        self._open: dict[str, Collection] = {}
        self._encoders: dict[str, EncoderSlot] = {}  # each open collection's, shared with it
        self._lock = threading.RLock()
        self.cluster = front.join(cluster, self.store)  # None: every index in this process
        if not self.read_only:
            self._sweep()

    def __repr__(self) -> str:
        mode = ", read-only" if self.read_only else ""
        return f"<Database {self.path} ({self.store.dialect}{mode})>"

    @property
    def read_only(self) -> bool:
        """True when opened read-only: searches work, writes raise `ReadOnlyError`."""
        return self.store.read_only

    def require_writable(self, action: str) -> None:
        """Raise `ReadOnlyError` (before any work is done) when the index is read-only."""
        if self.store.read_only_reason is not None:
            raise opening.refused(self.store.read_only_reason, action)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def create_collection(
        self,
        name: str,
        encoder: str | Encoder | None = None,
        *,
        dim: int | None = None,
        index: str = "auto",
        metric: str = "cosine",
        require_principals: bool = False,
        default_acl: list[str] | None = None,
        device: str | None = None,
        exist_ok: bool = False,
        recall_target: float = 0.95,
        memory_budget: int | str | None = None,
        storage: str = "float32",
        mmap: bool | None = None,
        shards: int | None = None,
        replicas: int | None = None,
    ) -> Collection:
        """Create a collection: one latent space (one encoder identity, dimension and metric).

        ``encoder``: ``"text"`` (default: bundled all-MiniLM-L6-v2), ``"clip"``, a model name or
        path, or an `Encoder`. ``dim=`` alone makes a bring-your-own-vectors collection.
        ``index``: a FAISS factory string (``"Flat"``, ``"HNSW32"``, ``"IVF1024,Flat"``...) or
        ``"auto"`` (chosen from the size, dimension, ``memory_budget`` and ``storage``, and
        re-chosen as the collection grows; see docs/python-api.md, "Indexes").
        ``recall_target``: approximate indexes get the narrowest nprobe / efSearch whose recall@10,
        measured on the collection's own vectors, meets it. ``storage`` (``"float32"``,
        ``"float16"``, ``"sq8"``) caps the index's bytes per dimension for ``index="auto"``.
        ``mmap``: memory-map the saved index (None: only files of 1 GiB or more).
        ``default_acl`` applies to items added without ``acl`` (default ``["*"]``: visible to
        everyone).
        ``shards`` / ``replicas``: with ``cluster=``, the index is split into ``shards`` (id modulo
        shards), each served by ``replicas`` Ray actors on different nodes (docs/cluster.md).
        """
        check_name(name)
        layout = front.layout(shards, replicas, self.cluster is not None)
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {sorted(METRICS)}, not {metric!r}")
        if not (exist_ok and self._exists(name)):
            self.require_writable(f"create collection {name!r}")
        dev = device or self.device
        resolve_device(dev, what="index")  # fail before anything is written
        enc = self._build_encoder(encoder, dim, dev, normalize=metric == "cosine")
        identity = enc.identity if enc else None
        d = identity.dim if identity else dim
        assert d is not None
        if index != "auto":  # validate the factory string before anything is written
            VectorIndex(d, index, metric, "cpu")
        options = index_options(index, recall_target, memory_budget, storage, mmap)
        acl = check_acl(default_acl)
        with self._lock:
            with self.store.session() as s:
                existing = s.scalar(select(CollectionRow).where(CollectionRow.name == name))
            if existing is not None:
                if not exist_ok:
                    raise CollectionExistsError(
                        f"collection {name!r} already exists; open it with db.collection({name!r}) or pass exist_ok=True"
                    )
                col = self.collection(name, encoder=enc, device=dev)
                if col.dim != d or col.metric != metric:
                    raise CollectionExistsError(
                        f"collection {name!r} exists with dim={col.dim}, metric={col.metric!r}; asked dim={d}, metric={metric!r}"
                    )
                return col
            try:
                with self.store.transaction() as s:
                    row = CollectionRow(
                        name=name,
                        encoder=identity.to_dict() if identity else {},
                        dim=d,
                        metric=metric,
                        index_spec=index,
                        require_principals=require_principals,
                        seq=0,
                        options={"default_acl": acl, **options, **layout},
                    )
                    s.add(row)
            except IntegrityError as exc:
                raise CollectionExistsError(
                    f"collection {name!r} was created concurrently; open it instead"
                ) from exc
            log.info("created collection %r (dim=%d, metric=%s, index=%s)", name, d, metric, index)
            return self._opened(row, enc, dev)

    def collection(
        self, name: str, *, encoder: str | Encoder | None = None, device: str | None = None
    ) -> Collection:
        """Open an existing collection. An ``encoder`` given here must match the recorded one."""
        with self._lock:
            if name in self._open and encoder is None:
                return self._open[name]
            with self.store.session() as s:
                row = s.scalar(select(CollectionRow).where(CollectionRow.name == name))
            if row is None:
                known = ", ".join(c.name for c in self.collections()) or "none yet"
                raise CollectionNotFoundError(
                    f"no collection named {name!r} (existing: {known}); create it with db.create_collection({name!r})"
                )
            dev = device or self.device
            enc = None
            if encoder is not None:
                recorded = EncoderIdentity.from_dict(row.encoder) if row.encoder else None
                enc = self._build_encoder(
                    encoder, None, dev, normalize=recorded.normalize if recorded else True
                )
                if recorded is None or enc is None:
                    raise InvalidInputError(
                        f"collection {name!r} stores raw vectors and has no encoder"
                    )
                check_identity(name, recorded, enc.identity)
            if name in self._open:
                self._encoders[name].offer(enc)
                return self._open[name]
            return self._opened(row, enc, dev)

    def _opened(self, row: CollectionRow, encoder: Encoder | None, device: str) -> Collection:
        """Build an open collection's parts (loading or building its index) and keep it."""
        settings = CollectionSettings.from_row(row)
        slot = EncoderSlot(
            settings.name,
            settings.dim,
            settings.identity,
            encoder,
            device=device,
            batch_size=self.batch_size,
            backend=self.encoder_backend,
            query_cache_size=self.query_cache_size,
        )
        parts = assemble(self.store, self.path, settings, slot, device=device,
                         read_only=self.read_only, cluster=self.cluster)  # fmt: skip
        col = Collection(parts)
        self._open[row.name], self._encoders[row.name] = col, slot
        return col

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its encoder identity, size and index."""
        with self.store.session() as s:
            rows = s.scalars(select(CollectionRow).order_by(CollectionRow.name)).all()
            return [CollectionInfo.from_row(r, sql.count(s, r.id)) for r in rows]

    # -- public for admin tools (issue 12): the size of a collection's saved index --------
    def index_bytes(self, collection_id: int) -> int:
        """Bytes on disk of the index files of the collection with this id (`Collection.id`,
        `CollectionInfo.id`); 0 before its index is first saved."""
        return disk_bytes(self.path, index_name(collection_id))

    def drop_collection(self, name: str) -> None:
        """Delete a collection, its items and its index files."""
        self.require_writable(f"drop collection {name!r}")
        with self._lock:
            with self.store.transaction() as s:
                row = s.scalar(select(CollectionRow).where(CollectionRow.name == name))
                if row is None:
                    raise CollectionNotFoundError(f"no collection named {name!r}")
                cid, opts = row.id, dict(row.options or {})
                s.execute(delete(CollectionRow).where(CollectionRow.id == cid))
            self._open.pop(name, None)
            self._encoders.pop(name, None)
            VectorIndex.drop(self.path, index_name(cid))
            front.dropped(self.cluster, self.store, self.path, cid, opts)
            log.info("dropped collection %r", name)

    def cluster_status(self) -> ClusterStatus:
        """The cluster's nodes and this database's shard replicas (`ClusterError` without one)."""
        cols = [(c.name, c.id, c.options) for c in self.collections()]
        return front.status(self.cluster, self.store, self.path, cols)

    def reopen(self, name: str) -> Collection:
        """Open ``name`` afresh, forgetting this process's handle on it: for a handle gone stale
        because another process dropped the collection (and may have re-created it)."""
        with self._lock:
            self._open.pop(name, None)
            self._encoders.pop(name, None)
            return self.collection(name)

    def _exists(self, name: str) -> bool:
        with self.store.session() as s:
            return s.scalar(select(CollectionRow.id).where(CollectionRow.name == name)) is not None

    def _sweep(self) -> None:
        """Remove index files of no live collection and stale temp files (rule: `index.files`)."""
        with self.store.session() as s:
            live = s.scalars(select(CollectionRow.id)).all()
        sweep(self.path, live)

    def _build_encoder(
        self, encoder: str | Encoder | None, dim: int | None, device: str, *, normalize: bool
    ) -> Encoder | None:
        return build_encoder(
            encoder,
            dim,
            device,
            normalize=normalize,
            batch_size=self.batch_size,
            backend=self.encoder_backend,
            query_cache_size=self.query_cache_size,
        )

    def close(self) -> None:
        """Save every open collection's index and release the database; shard actors stay up."""
        with self._lock:
            for col in self._open.values():
                with contextlib.suppress(CollectionNotFoundError):  # dropped by another process
                    col.close()
            self._open.clear()
            self._encoders.clear()
            self.store.close()
