"""Scatter-gather over shards with bounded retry on another replica.

One call per shard goes out at once (Ray runs them in parallel). A call that fails because its
replica died, is restarting or was lost with its node, or that does not answer within
`ATTEMPT_TIMEOUT_S`, is sent to the shard's next replica; every replica is tried at most twice
(the second round after a short pause, time for Ray to restart one). A shard none of whose
replicas answered is reported missing. Errors raised by the shard code itself (a dropped
collection, bad input) are not retried: they propagate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# A replica slower than this (a lost node not yet declared dead) is skipped.
ATTEMPT_TIMEOUT_S = 30.0
ROUNDS = 2
PAUSE_S = 0.5


@dataclass(slots=True)
class Gathered:
    """Per shard, the answer of the replica that answered; the shards none answered."""

    results: dict[int, Any] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    failed: list[tuple[int, int]] = field(default_factory=list)  # (shard, replica) that failed


def transient(ray: Any) -> tuple[type[BaseException], ...]:
    """The errors that mean "this replica is not answering now": try another one."""
    ex = ray.exceptions
    names = (
        "RayActorError",
        "ActorUnavailableError",
        "ActorDiedError",
        "GetTimeoutError",
        "ObjectLostError",
        "OwnerDiedError",
        "WorkerCrashedError",
        "NodeDiedError",
    )
    return tuple(getattr(ex, n) for n in names if hasattr(ex, n))


def gather(
    ray: Any,
    orders: Mapping[int, Sequence[int]],
    call: Callable[[int, int], Any],
    *,
    attempt_timeout: float = ATTEMPT_TIMEOUT_S,
) -> Gathered:
    """Run ``call(shard, replica) -> ObjectRef`` for every shard in ``orders`` (its replicas in
    the order to try them), retrying as the module says."""
    out = Gathered()
    retry = transient(ray)
    queues = {shard: [(r, i >= len(order)) for i, r in enumerate(list(order) * ROUNDS)]
              for shard, order in orders.items()}  # fmt: skip
    inflight: dict[Any, tuple[int, int, float]] = {}

    def launch(shard: int) -> None:
        while queues[shard]:
            replica, again = queues[shard].pop(0)
            if again:
                time.sleep(PAUSE_S)
            try:
                ref = call(shard, replica)
            except retry as exc:  # a handle already known dead
                log.info("shard %d replica %d unavailable: %s", shard, replica, exc)
                out.failed.append((shard, replica))
                continue
            inflight[ref] = (shard, replica, time.monotonic() + attempt_timeout)
            return
        out.missing.append(shard)

    for shard in orders:
        launch(shard)
    while inflight:
        now = time.monotonic()
        wait = max(0.0, min(d for _, _, d in inflight.values()) - now)
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=wait)
        for ref in ready:
            shard, replica, _ = inflight.pop(ref)
            try:
                out.results[shard] = ray.get(ref)
            except retry as exc:
                log.info("shard %d replica %d failed (%s); trying another", shard, replica, exc)
                out.failed.append((shard, replica))
                launch(shard)
        now = time.monotonic()
        for ref, (shard, replica, deadline) in list(inflight.items()):
            if now >= deadline:
                del inflight[ref]
                log.warning("shard %d replica %d timed out; trying another", shard, replica)
                out.failed.append((shard, replica))
                launch(shard)
    out.missing.sort()
    return out
