"""The one lock order: check out the store connection first, then take the collection lock.

Readers and writers alike hold a pooled connection while they wait for a collection's lock, so
whoever holds the lock must never wait for a connection: with a bounded pool that would stall
(every connection held by a thread waiting for the lock, the lock held by a thread waiting for
a connection). `hold` is the only way the core combines the two. The lock stays held until the
unit of work has committed (or rolled back) and returned its connection, so no reader syncing
the index sees a write whose commit is under way: a writer's commit and its mirroring into the
index are ordered by the lock.

Rule for callers: never enter `hold` (or open a session) while holding the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session


@contextmanager
def hold(unit: AbstractContextManager[Session], lock: threading.RLock) -> Iterator[Session]:
    """Enter ``unit`` (a `Store.session` or `Store.transaction`) and check out its connection,
    then take ``lock``; on the way out leave ``unit`` (commit or roll back), then release it."""
    held = False
    try:
        with unit as s:
            s.connection()  # the pool is waited on here, before the lock
            lock.acquire()
            held = True
            yield s
    finally:
        if held:
            lock.release()


def connected(s: Session) -> Session:
    """``s`` with its connection checked out (call before taking the lock with a given session)."""
    s.connection()
    return s
