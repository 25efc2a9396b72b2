"""Helpers for the MCP tests: a real `latentsearch mcp` process over stdio or streamable HTTP,
driven by the official `mcp` client library, and a leak checker over tool results.

The index is serverkit's company corpus (eng and sales private documents, public ones) plus a
second collection, ``extra``, that a server started with ``--collection docs`` must hide.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import serverkit
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

import latentsearch as ls
from latentsearch.testing.server_process import free_port

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
# Fields of a tool result that carry stored content or identity (not echoes of the request).
CONTENT_KEYS = {"id", "item", "document", "text", "snippet", "title", "summary", "uri", "name"}


def build(index: Path) -> serverkit.Keys:
    keys = serverkit.build(index, None)
    with ls.connect(index, device="cpu") as db:
        extra = db.create_collection("extra", encoder="text", require_principals=True)
        extra.add([{"id": "x-1", "text": "An extra note about VPN laptops.", "acl": ["*"]}])
    return keys


def mcp_args(index: Path, *extra: str) -> list[str]:
    return ["-m", "latentsearch", "mcp", "--index", str(index), "--device", "cpu", *extra]


@asynccontextmanager
async def stdio_session(index: Path, key: str | None, *extra: str) -> AsyncIterator[ClientSession]:
    """A session with `latentsearch mcp` as a child process, its key in LATENTSEARCH_API_KEY."""
    env = dict(ENV)
    if key is not None:
        env["LATENTSEARCH_API_KEY"] = key
    params = StdioServerParameters(command=sys.executable, args=mcp_args(index, *extra), env=env)
    with open(index / "mcp-stdio.log", "a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


@contextmanager
def http_server(index: Path, *extra: str, timeout: float = 180) -> Iterator[str]:
    """`latentsearch mcp --transport http` on a free port; yields the endpoint URL."""
    port = free_port()
    args = mcp_args(index, "--transport", "http", "--port", str(port), *extra)
    log_path = index / f"mcp-http-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/mcp"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"mcp server exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.post(url, json={}, timeout=2).status_code == 401:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mcp server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@asynccontextmanager
async def http_session(url: str, key: str) -> AsyncIterator[ClientSession]:
    client = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=300)
    )
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **args: Any) -> tuple[bool, Any]:
    """(is_error, structured result or the error text)."""
    res = await session.call_tool(tool, args)
    if res.is_error:
        return True, "".join(getattr(c, "text", "") for c in res.content)
    data = res.structured_content
    assert data is not None, f"{tool} returned no structured content"
    text = "".join(getattr(c, "text", "") for c in res.content)
    assert json.loads(text) == data, "the text content is the same JSON"
    return False, data


def content(data: Any) -> Iterator[str]:
    """Every stored-content string of a result (ids, texts, titles, URIs, snippets)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k in CONTENT_KEYS and isinstance(v, str):
                yield v
            else:
                yield from content(v)
    elif isinstance(data, list):
        for v in data:
            yield from content(v)


def leaks(data: Any, private_ids: set[str], words: set[str]) -> list[str]:
    """The other side's private ids and secret words that appear in ``data``'s content."""
    found = []
    for s in content(data):
        low = s.lower()
        found += [i for i in private_ids if s == i or s.startswith(i + "#")]
        found += [w for w in words if w in low]
    return found
