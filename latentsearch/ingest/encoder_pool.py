"""A pool of encoder actors on Ray Data: texts in, vectors out, one actor per CPU (or GPU).

The distributed build (`latentsearch.ingest.distributed`) hands each window of texts to
`EncoderPool.encode`, which makes them a Ray Data dataset and maps it through a fixed pool of
`EncoderActor`s (``map_batches`` with an actor class). Blocks stream back to the driver as the
actors finish them, so the driver writes one batch while the actors embed the next.

Resources, after Ray's documented pitfalls:

* each actor asks for `CPU_SHARE` of a CPU (not a whole one) and runs exactly one torch/OpenMP
  thread: one actor per CPU never oversubscribes a node, and the share left over keeps room
  for Ray Data's own small tasks, so a pool over every CPU cannot starve the dataset and hang
  it. Where shard actors already hold part of the nodes' CPUs, the share shrinks until every
  actor finds a node (an actor that fits nowhere would hang the dataset just the same);
* more workers than the cluster has CPUs (or GPUs) would wait forever for actors that cannot
  be placed: refused up front;
* with GPUs in the cluster each actor asks for ``num_gpus=1`` and embeds on CUDA.

Ray is imported here only, and only when a build asks for a cluster.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from latentsearch.errors import (
    ClusterError,
    EncoderMismatchError,
    InvalidInputError,
    MissingExtraError,
)

if TYPE_CHECKING:
    import numpy as np

    from latentsearch.encoders import EncoderIdentity

log = logging.getLogger(__name__)

# Each encoder actor's CPU request: one actor per CPU fits, and a tenth of every CPU it sits on
# stays free for Ray Data's scheduling tasks (an actor pool over every whole CPU can hang a dataset).
CPU_SHARE = 0.9
# The least CPU an encoder actor asks for when nodes are busy (shard actors hold the rest).
MIN_SHARE = 0.05
# Texts per forward pass inside an actor: the library default (`ls.connect(batch_size=64)`).
FORWARD_BATCH = 64


def import_ray() -> ModuleType:
    """``ray`` with Ray Data, or `MissingExtraError` saying what to install."""
    try:
        import ray
        import ray.data  # pandas and pyarrow: the `data` part of the extra
    except ImportError as exc:
        raise MissingExtraError(
            f"a build on a Ray cluster (--cluster) needs the distributed extra ({exc.name} "
            "cannot be imported here); install it with: pip install 'latentsearch[distributed]'"
        ) from exc
    return ray


def connect_ray(cluster: str) -> ModuleType:
    """Join the Ray cluster at ``cluster`` ("auto", "host:port" or "ray://host:10001"), unless
    this process is connected already (``ls.connect(cluster=...)`` may have done it)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=cluster, namespace="latentsearch", logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(
            f"cannot join the Ray cluster at {cluster!r}: {exc}; start one with "
            "'ray start --head' (and 'ray start --address HEAD:6379' on the other machines), "
            "or give its address"
        ) from exc
    return ray


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """How many encoder actors, and what each asks Ray for."""

    workers: int
    num_cpus: float
    num_gpus: float
    threads: int  # torch / OpenMP threads in each actor
    device: str


def plan_pool(resources: dict[str, float], free: list[float], workers: int | None) -> PoolPlan:
    """One actor per GPU when the cluster has GPUs, else one per CPU; ``workers`` fewer if given.

    ``resources``: the cluster's totals; ``free``: the CPUs free on each node now (shard actors
    hold a part). Each actor asks for `CPU_SHARE` of a CPU, or less where that is what it takes
    for every actor to find a node: an actor that fits nowhere would hang the dataset.
    """
    cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
    unit, have = ("GPU", gpus) if gpus else ("CPU", cpus)
    if have < 1:
        raise ClusterError("the Ray cluster has no CPU to run encoder actors on; add a node")
    n = have if workers is None else workers
    if n < 1:
        raise InvalidInputError(f"workers must be at least 1, not {n}")
    if n > have:
        raise InvalidInputError(
            f"the Ray cluster has {have} {unit}(s) and one encoder actor runs per {unit}: "
            f"give --workers {have} or fewer (or add nodes)"
        )
    share = _fitting_share(free, n)
    if gpus:
        return PoolPlan(n, num_cpus=share, num_gpus=1.0, threads=1, device="cuda")
    return PoolPlan(n, num_cpus=share, num_gpus=0.0, threads=1, device="cpu")


def _fitting_share(free: list[float], n: int) -> float:
    """The largest CPU request (at most `CPU_SHARE`) for which ``n`` actors fit on the nodes'
    free CPUs, each node keeping a tenth of what it has free."""

    def fits(share: float) -> bool:
        return sum(int(f / share + 1e-9) for f in free) >= n

    if fits(CPU_SHARE):
        return CPU_SHARE
    candidates = sorted(
        {CPU_SHARE * f / k for f in free for k in range(1, n + 1) if f > 0}, reverse=True
    )
    for share in candidates:
        if share < CPU_SHARE and share >= MIN_SHARE and fits(share):
            return round(share, 4)
    raise ClusterError(
        f"the Ray cluster has no room for {n} encoder actor(s): free CPUs per node are "
        f"{[round(f, 2) for f in free]}; give fewer --workers or add nodes"
    )


def free_cpus(ray: ModuleType) -> list[float]:
    """CPUs free on each live node now (Ray's per-node view; its cluster-wide sum spread evenly
    over the nodes where that view is not available)."""
    try:
        from ray._private.state import available_resources_per_node

        per_node = available_resources_per_node()  # type: ignore[no-untyped-call]
        return [float(r.get("CPU", 0.0)) for r in per_node.values()]
    except Exception:  # a private API: fall back to the public cluster-wide figure
        nodes = max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
        return [float(ray.available_resources().get("CPU", 0.0)) / nodes] * nodes


class EncoderActor:
    """One encoder, loaded once per actor; embeds the ``text`` column of each batch.

    It checks that the model it loaded is the collection's (same fingerprint): a node with other
    weights under the same name would otherwise write vectors of another space.
    """

    def __init__(
        self, identity: dict[str, Any], device: str, threads: int, batch_size: int
    ) -> None:
        # Before torch starts its pools: one thread per CPU this actor stands for.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
        import torch

        torch.set_num_threads(threads)
        from latentsearch.encoders import EncoderIdentity, get_encoder

        want = EncoderIdentity.from_dict(identity)
        self.encoder = get_encoder(
            want.spec,
            device=device,
            batch_size=batch_size,
            normalize=want.normalize,
            backend=want.backend,
        )
        if not self.encoder.identity.same_space(want):
            raise EncoderMismatchError(
                f"the encoder actor on this node loaded {self.encoder.identity.model!r} with other "
                f"weights than the collection's {want.model!r}; install the same model on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode_texts([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": vectors}


class EncoderPool:
    """Embeds texts on a Ray cluster with the collection's encoder (see the module docstring)."""

    def __init__(
        self, cluster: str, identity: EncoderIdentity, workers: int | None, batch_size: int
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch size must be at least 1, not {batch_size}")
        self.ray = connect_ray(cluster)
        self.identity, self.batch_size = identity, batch_size
        self.plan = plan_pool(self.ray.cluster_resources(), free_cpus(self.ray), workers)
        ctx = self.ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI draws its own (rich) progress
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        log.info("encoder pool: %s", self.plan)

    def encode(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(rows, vectors)`` as the actors answer: ``rows`` index ``texts``, in no order."""
        if not texts:
            return
        ray, plan, b = self.ray, self.plan, self.batch_size
        blocks = max(plan.workers, math.ceil(len(texts) / b))
        ds = ray.data.from_items(
            [{"row": i, "text": t} for i, t in enumerate(texts)], override_num_blocks=blocks
        )
        ds = ds.map_batches(
            EncoderActor,
            fn_constructor_kwargs={
                "identity": self.identity.to_dict(),
                "device": plan.device,
                "threads": plan.threads,
                "batch_size": FORWARD_BATCH,
            },
            batch_size=b,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=plan.workers),
            num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus,
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=2):
            yield batch["row"], batch["vector"]
