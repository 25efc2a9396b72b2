"""Prometheus metrics: request counts and latencies per route, search counts per mode.

Every label takes values from a bounded set, whatever a client sends (each distinct label set is
a time series kept for the life of the process): ``method`` is one of `METHODS` or ``OTHER``,
``route`` a route template of the app (``/collections/{name}/search``) or ``unmatched``, and
``status`` a three-digit code (100-599) or ``other``.

With several workers, ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, and
``/metrics`` aggregates every worker's samples (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "latentsearch_http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "latentsearch_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SEARCHES = Counter(
    "latentsearch_searches_total", "Searches by endpoint and mode", ["endpoint", "mode"]
)
WRITES = Counter(
    "latentsearch_items_written_total", "Items added, updated or deleted over HTTP", ["op"]
)


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, media_type=CONTENT_TYPE_LATEST)


class Instrument:
    """Pure ASGI middleware recording each request's route template, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, record)
        finally:
            path, method = route_label(scope), method_label(scope.get("method"))
            REQUESTS.labels(path, method, status_label(status)).inc()
            LATENCY.labels(path, method).observe(time.perf_counter() - start)


def method_label(method: object) -> str:
    """The request method if it is a standard one, else ``OTHER`` (clients may send any token)."""
    return method if isinstance(method, str) and method in METHODS else "OTHER"


def route_label(scope: Scope) -> str:
    """The matched route's template (from the app's own routes, so a finite set) or ``unmatched``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"
