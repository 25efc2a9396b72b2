"""`latentsearch mcp` driven by the official `mcp` client library, over both transports.

Two keys (alice: eng, bob: sales) ask the same questions and see different results; a seeded
randomised run over every tool finds none of the other key's private items; fetching a hidden
item is answered exactly like fetching a missing one. Real processes, a real index, the bundled
text model.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcpkit import build, call, http_server, http_session, leaks, stdio_session
from serverkit import CORPUS, ENG, ENG_SECRET, PRIVATE, SALES, SALES_SECRET

from latentsearch.server import keystore

pytestmark = pytest.mark.slow

TOOLS = {"list_collections", "search", "query", "analogy", "fetch", "answer"}
IDS = [r["id"] for r in CORPUS]
WORDS = sorted(
    {w.lower() for r in CORPUS for w in re.findall(r"[A-Za-z]{4,}", r["text"])} | {"vpn"}
)
MISSING = ["no-such-item", "eng-vpn-2", "handbook#9"]
ROUNDS = 25  # randomised calls per key and transport


def _visible(side: str) -> set[str]:
    return {r["id"] for r in CORPUS if side in r["acl"] or "*" in r["acl"]}


def _ids(data: dict) -> set[str]:
    return {r["id"] for r in data["results"]}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("mcp")
    return folder, build(folder)


async def _scenario(alice, bob, seed: int) -> None:
    sides = {"alice": (alice, ENG, SALES), "bob": (bob, SALES, ENG)}
    tools = {t.name for t in (await alice.list_tools()).tools}
    assert tools == TOOLS

    # Counts are the caller's visible counts, like GET /collections.
    for session, own, _ in sides.values():
        err, data = await call(session, "list_collections")
        assert not err
        counts = {c["name"]: c["items"] for c in data["collections"]}
        assert counts == {"docs": len(_visible(own)), "extra": 1}

    # The same question, different visible results, every mode; citations on every result.
    for mode in ("dense", "keyword", "hybrid"):
        seen = {}
        for name, (session, own, other) in sides.items():
            err, data = await call(
                session, "search", query="VPN outage", collection="docs", k=10, mode=mode
            )
            assert not err
            seen[name] = _ids(data)
            assert seen[name] & PRIVATE[own], f"{name} finds their own private runbook ({mode})"
            assert not seen[name] & PRIVATE[other]
            for r in data["results"]:
                c = r["citation"]
                assert {"document", "title", "uri", "snippet", "start", "end"} <= set(c)
                assert c["uri"].startswith("https://") and c["end"] >= c["start"]
        assert seen["alice"] != seen["bob"]

    # Answers: passages grouped by document, each with its citation; different per key.
    answers = {}
    for name, (session, own, other) in sides.items():
        err, data = await call(
            session, "answer", question="what to do about a VPN outage", collection="docs"
        )
        assert not err, data
        docs = {d["document"] for d in data["documents"]}
        assert docs & PRIVATE[own] and not docs & PRIVATE[other]
        assert data["summary"] and "[1]" in data["summary"]
        for d in data["documents"]:
            for p in d["passages"]:
                assert p["citation"]["document"] == d["document"] and p["citation"]["title"]
        answers[name] = docs
    assert answers["alice"] != answers["bob"]

    # Fetch: an item with its source; a hidden one answered exactly like a missing one.
    for _name, (session, own, other) in sides.items():
        own_id = sorted(PRIVATE[own])[0]
        err, data = await call(session, "fetch", id=own_id, collection="docs")
        assert not err and data["item"]["id"] == own_id
        assert data["item"]["source"]["uri"].startswith("https://")
        assert data["item"]["citation"]["document"] == own_id
        for hidden in sorted(PRIVATE[other]):
            missing = hidden + "-missing"
            e1, m1 = await call(session, "fetch", id=hidden, collection="docs")
            e2, m2 = await call(session, "fetch", id=missing, collection="docs")
            assert (
                e1 and e2 and m1.replace(repr(hidden), "<id>") == m2.replace(repr(missing), "<id>")
            )

    # A seeded randomised run over every tool: zero leaks of the other key's private items.
    rng = random.Random(seed)
    for name, (session, own, other) in sides.items():
        visible = _visible(own)
        words = {SALES_SECRET} if other == SALES else {ENG_SECRET}
        errors: dict[str, set[str]] = {}
        found_own = 0
        for _ in range(ROUNDS):
            tool, args, ref = _random_call(rng)
            err, data = await call(session, tool, **args)
            if err:
                assert ref is not None and ref not in visible, (name, tool, args, data)
                errors.setdefault(tool, set()).add(data.replace(repr(ref), "<id>"))
                continue
            assert not leaks(data, PRIVATE[other], words), (name, tool, args)
            found_own += bool(leaks(data, PRIVATE[own], set()))
        for tool, messages in errors.items():  # hidden and missing: one message shape
            assert len(messages) == 1, (name, tool, messages)
        assert found_own, f"{name}'s randomised calls never returned their own private items"


def _random_call(rng: random.Random) -> tuple[str, dict, str | None]:
    """A random tool call; the third value is the id it names, if any."""
    words = rng.sample(WORDS, rng.randint(1, 3))
    ref = rng.choice(IDS + MISSING)
    k = rng.randint(1, 10)
    tool = rng.choice(["search", "search", "query", "analogy", "fetch", "answer"])
    if tool == "search":
        mode = rng.choice(["dense", "keyword", "hybrid"])
        args = {"query": " ".join(words), "k": k, "mode": mode, "collection": "docs"}
        if rng.random() < 0.3:
            args["where"] = {"team": rng.choice(["eng", "sales", "it", "hr"])}
        return tool, args, None
    if tool == "query":
        if rng.random() < 0.5:
            return tool, {"expression": f"@{ref}", "k": k, "collection": "docs"}, ref
        expr = f'"{words[0]}" - "{rng.choice(WORDS)}"'
        return tool, {"expression": expr, "k": k, "collection": "docs"}, None
    if tool == "analogy":
        pos, neg = [ref, words[0]], [rng.choice(WORDS)]
        return tool, {"positive": pos, "negative": neg, "k": k, "collection": "docs"}, None
    if tool == "fetch":
        return tool, {"id": ref, "collection": "docs"}, ref
    mode = rng.choice(["dense", "keyword", "hybrid"])
    return tool, {"question": " ".join(words), "k": k, "mode": mode, "collection": "docs"}, None


def test_stdio_two_keys_no_leaks(index) -> None:
    folder, keys = index

    async def main() -> None:
        async with (
            stdio_session(folder, keys.alice) as alice,
            stdio_session(folder, keys.bob) as bob,
        ):
            await _scenario(alice, bob, seed=15)

    anyio.run(main)


def test_http_two_keys_no_leaks(index) -> None:
    folder, keys = index
    with http_server(folder) as url:

        async def main() -> None:
            async with http_session(url, keys.alice) as alice, http_session(url, keys.bob) as bob:
                await _scenario(alice, bob, seed=16)

        anyio.run(main)


def test_http_refuses_requests_without_a_valid_key(index) -> None:
    folder, keys = index
    with http_server(folder, "--collection", "docs") as url:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        for headers in ({}, {"Authorization": "Bearer ls_nope_x"}, {"X-API-Key": keys.revoked}):
            r = httpx.post(url, json=hello, headers=headers, timeout=10)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert "API key" in r.json()["error"]

        async def main() -> None:
            async with http_session(url, keys.alice) as alice:
                # --collection docs: the other collection is answered like a missing one.
                _, data = await call(alice, "list_collections")
                assert [c["name"] for c in data["collections"]] == ["docs"]
                e1, m1 = await call(alice, "search", query="vpn", collection="extra")
                e2, m2 = await call(alice, "search", query="vpn", collection="nope")
                assert e1 and e2 and m1.replace("'extra'", "<c>") == m2.replace("'nope'", "<c>")
                err, data = await call(alice, "search", query="vpn laptops")
                assert not err and data["collection"] == "docs"

        anyio.run(main)

        # A key revoked mid-session stops working at its next call (a key of its own, so that
        # the other tests' keys stay valid whatever order they run in).
        with keystore_session(folder) as s:
            carol = keystore.create_key(s, "carol", ["eng"], "reader").key

        async def revoked_mid_session() -> None:
            async with http_session(url, carol) as session:
                err, _ = await call(session, "search", query="vpn", collection="docs")
                assert not err
                with keystore_session(folder) as s:
                    keystore.revoke_key(s, carol)
                with pytest.raises(MCPError):  # the 401 of the next request
                    await session.call_tool("search", {"query": "vpn", "collection": "docs"})
            r = httpx.post(url, json={}, headers={"Authorization": f"Bearer {carol}"}, timeout=10)
            assert r.status_code == 401

        anyio.run(revoked_mid_session)


def keystore_session(folder: Path):  # type: ignore[no-untyped-def]
    import latentsearch as ls

    class _Tx:
        def __enter__(self):  # type: ignore[no-untyped-def]
            self.db = ls.connect(folder, device="cpu")
            self.cm = self.db.store.transaction()
            return self.cm.__enter__()

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.cm.__exit__(*exc)
            self.db.close()

    return _Tx()


def test_stdio_refuses_a_missing_or_bad_key_and_hides_other_collections(index) -> None:
    folder, keys = index

    async def restricted() -> None:
        async with stdio_session(folder, keys.bob, "--collection", "docs") as bob:
            _, data = await call(bob, "list_collections")
            assert [c["name"] for c in data["collections"]] == ["docs"]
            e1, m1 = await call(bob, "fetch", id="x-1", collection="extra")
            e2, m2 = await call(bob, "fetch", id="x-1", collection="nope")
            assert e1 and e2 and m1.replace("'extra'", "<c>") == m2.replace("'nope'", "<c>")
            # Invalid text is refused at the boundary with a message that says so.
            for tool, args in (
                ("search", {"query": "vpn\x00outage"}),
                ("answer", {"question": "vpn\x00outage"}),
                ("fetch", {"id": "eng\x00vpn"}),
                ("search", {"query": "vpn", "collection": "do\x00cs"}),
            ):
                err, message = await call(bob, tool, **args)
                assert err and "NUL" in message, (tool, message)

    anyio.run(restricted)
    from corpus import subprocess_cli

    for key in (None, "ls_bad_key", keys.revoked):
        env = {"LATENTSEARCH_API_KEY": key} if key else {}
        if key is None:
            env["LATENTSEARCH_API_KEY"] = ""
        r = subprocess_cli("mcp", "--index", folder, "--device", "cpu", env=env, timeout=120)
        assert r.returncode != 0
        assert "API key" in r.stderr or "LATENTSEARCH_API_KEY" in r.stderr, r.stderr
