"""The MCP tools in-process (the SDK's in-memory client): every call checks its key again, so a
key revoked while an agent is connected stops working at its next call, with a tool error that
says so; over HTTP `BearerGate` refuses the request before that (test_mcp_agents.py)."""

from __future__ import annotations

from pathlib import Path

import anyio
from mcp import Client
from serverkit import CORPUS

import latentsearch as ls
from latentsearch import directory
from latentsearch.mcp.server import build
from latentsearch.server import keystore


def test_a_key_revoked_mid_session_is_refused_at_the_next_call(tmp_path: Path) -> None:
    with ls.connect(tmp_path, device="cpu") as db:
        db.create_collection("docs", encoder="text", require_principals=True).add(CORPUS)
        with db.store.transaction() as s:
            key = keystore.create_key(s, "carol", ["eng"], "reader").key
        server = build(db, env_key=key)

        async def main() -> None:
            async with Client(server) as client:
                ok = await client.call_tool("search", {"query": "vpn outage", "k": 3})
                assert not ok.is_error and ok.structured_content is not None
                assert ok.structured_content["results"][0]["id"] == "eng-vpn"
                with db.store.transaction() as s:
                    keystore.revoke_key(s, key)
                refused = await client.call_tool("search", {"query": "vpn outage"})
                assert refused.is_error
                assert "invalid or revoked API key" in refused.content[0].text  # type: ignore[union-attr]
                assert "eng-vpn" not in str(refused)

        anyio.run(main)


def test_a_directory_key_follows_the_directory(tmp_path: Path) -> None:
    """An agent's key that names a directory user gets that user's groups from the synced
    directory at each call (as the HTTP API does): removed from a group, the agent stops seeing
    its documents; gone from the directory, its key is refused like an unknown one."""
    groups = tmp_path / "groups.csv"
    groups.write_text("user,group\ncarol,eng\ndave,sales\n")
    source = directory.file_source(groups, "team")
    with ls.connect(tmp_path / "idx", device="cpu") as db:
        db.create_collection("docs", encoder="text", require_principals=True).add(CORPUS)
        directory.sync(db, source)
        with db.store.transaction() as s:
            key = keystore.create_key(s, "carol", groups_from="directory").key
        server = build(db, env_key=key, directory_ttl=0)

        async def ids(client: Client) -> set[str]:
            out = await client.call_tool("search", {"query": "vpn outage", "k": 10})
            assert not out.is_error and out.structured_content is not None
            return {r["id"] for r in out.structured_content["results"]}

        async def main() -> None:
            async with Client(server) as client:
                assert "eng-vpn" in await ids(client)
                groups.write_text("user,group\ncarol,sales\ndave,sales\n")
                directory.sync(db, source)
                seen = await ids(client)
                assert "eng-vpn" not in seen and "sales-vpn" in seen
                groups.write_text("user,group\ndave,sales\n")
                directory.sync(db, source)
                refused = await client.call_tool("search", {"query": "vpn outage"})
                assert refused.is_error
                assert "invalid or revoked API key" in refused.content[0].text  # type: ignore[union-attr]

        anyio.run(main)
