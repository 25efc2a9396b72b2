"""The sync runner with small in-test connectors (a connector is plain Python; the index, the
model and SQL are real): parts, loaders, permission rules, deletes, failures, checkpoints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from synckit import Counting

import latentsearch as ls
from latentsearch.connectors import state
from latentsearch.connectors.base import Change, Checkpoint, Connector, Deleted, Failed, Record
from latentsearch.connectors.config import Permissions, SourceConfig
from latentsearch.connectors.runner import sync_source


class Scripted(Connector):
    """Yields what the test put in ``script``; ``crash_after`` raises after that many changes."""

    type = "scripted"

    def __init__(
        self, script: list[Change], keys: list[str] | None = None, crash_after: int | None = None
    ) -> None:
        super().__init__("s", {}, {})
        self.script, self._keys, self.crash_after = script, keys, crash_after

    def changes(self, cursor: str | None) -> Iterator[Change]:
        for n, change in enumerate(self.script):
            if self.crash_after is not None and n == self.crash_after:
                raise ConnectionError("the source went away")
            yield change

    def keys(self) -> Iterable[str] | None:
        return self._keys


def _src(**kw: object) -> SourceConfig:
    return SourceConfig(name="s", type="scripted", collection="docs", **kw)


def _run(db: ls.Database, *changes: Change, src: SourceConfig | None = None, **kw: object):
    return sync_source(db, src or _src(), connector=Scripted(list(changes), **kw))


def test_parts_become_one_item_each_with_offsets(index: ls.Database, counted: Counting) -> None:
    parts = [
        "Hello, the VPN is down again.",
        "Did you try turning it off and on?",
        "Yes, it works.",
    ]
    res = _run(index, Record("t1", "v1", parts=parts, title="VPN thread"), Checkpoint("1"))
    assert res.added == 1
    col = index.collection("docs")
    joined = "\n\n".join(parts)
    for n, part in enumerate(parts):
        item = col.get(f"s:t1#{n}")
        assert item.text == part
        assert item.chunk is not None and joined[item.chunk.start : item.chunk.end] == part


def test_content_goes_through_the_loaders(index: ls.Database, counted: Counting) -> None:
    html = (
        b"<html><head><title>Wiki: VPN</title></head><body><article><p>"
        + b"Reset the VPN token in the portal. " * 5
        + b"</p></article></body></html>"
    )
    res = _run(
        index,
        Record("w", "e1", content=html, filename="vpn.html"),
        Record("bad", "x", content=b"\x00\x01", filename="a.txt"),
    )
    assert (res.added, res.failed) == (1, 1)
    item = index.collection("docs").get("s:w")
    assert "Reset the VPN token" in (item.text or "") and item.source.title == "Wiki: VPN"
    assert "binary file" in res.errors[0]["reason"]


def test_invalid_ids_and_versions_fail_alone(tmp_path: Path, database: str | None) -> None:
    """PostgreSQL refuses NUL in text columns: such ids never reach the state tables."""
    with ls.connect(tmp_path / "pgidx", database=database, device="cpu") as db:
        res = _run(
            db,
            Record("ok", "1", text="fine"),
            Record("nul\x00id", "1", text="x"),
            Record("v", "bad\x00version", text="y"),
            Record("x" * 500, "1", text="z"),
            Deleted("gone\x00"),
            Checkpoint("c"),
        )
        assert (res.status, res.added, res.failed) == ("done", 1, 3), res.errors


def test_invalid_text_fails_one_record_not_the_batch(index: ls.Database, counted: Counting) -> None:
    res = _run(
        index,
        Record("a", "1", text="fine text"),
        Record("b", "1", text="bad \x00 text"),
        Record("c", "1", text="also fine"),
    )
    assert (res.added, res.failed, res.status) == (2, 1, "done")
    assert res.errors[0]["id"] == "b" and "NUL" in res.errors[0]["reason"]


def test_permission_rule_maps_defaults_and_removes(index: ls.Database, counted: Counting) -> None:
    rule = Permissions(
        map={"Support": "group:support", "Everyone": "*"}, unmapped="drop", default=["group:staff"]
    )
    src = _src(permissions=rule)
    res = _run(
        index,
        Record("a", "1", text="refund policy for support", acl=["Support", "Bogus"]),
        Record("b", "1", text="holiday calendar"),
        src=src,
    )
    assert res.added == 2
    col = index.collection("docs")
    assert next(h.id for h in col.search("refund", k=5, principals=["group:support"])) == "s:a"
    assert "s:a" not in {h.id for h in col.search("refund", k=5, principals=["group:staff"])}
    assert "s:b" in {h.id for h in col.search("holiday", k=5, principals=["group:staff"])}
    # Support loses access at the source: only an unmapped principal is left -> deleted.
    res = _run(index, Record("a", "2", text="refund policy for support", acl=["Bogus"]), src=src)
    assert res.deleted == 1
    with pytest.raises(ls.errors.ItemNotFoundError):
        col.get("s:a")


def test_unchanged_costs_no_encoding_and_deleted_removes_chunks(
    index: ls.Database, counted: Counting
) -> None:
    long = " ".join(
        f"Paragraph {n} about the deployment pipeline and its rollback steps." for n in range(120)
    )
    _run(index, Record("doc", "v1", text=long), Record("x", "v1", text="short note"))
    col = index.collection("docs")
    n_items = len(col)
    assert n_items > 2
    before = counted.texts
    res = _run(index, Record("doc", "v1", text=long), Record("x", "v1", text="short note"))
    assert (res.unchanged, res.updated, counted.texts) == (2, 0, before)
    # A new version with the same text: written again, but its texts are not re-embedded.
    res = _run(index, Record("x", "v2", text="short note", title="renamed"))
    assert res.updated == 1 and counted.texts == before
    res = _run(index, Deleted("doc"))
    assert res.deleted == 1 and len(col) == 1


def test_key_scan_deletes_what_the_source_no_longer_has(
    index: ls.Database, counted: Counting
) -> None:
    _run(index, Record("a", "1", text="alpha"), Record("b", "1", text="beta"))
    res = _run(index, keys=["a"])
    assert res.deleted == 1
    assert len(index.collection("docs")) == 1


def test_a_source_failing_midway_keeps_its_last_checkpoint(
    index: ls.Database, counted: Counting
) -> None:
    script: list[Change] = [
        Record("a", "1", text="alpha"),
        Checkpoint("c1"),
        Record("b", "1", text="beta"),
        Failed("z", "unreadable"),
        Checkpoint("c2"),
    ]
    res = _run(index, *script, crash_after=3)
    assert res.status == "failed" and "the source went away" in res.errors[-1]["reason"]
    assert res.cursor == "c1"
    with index.store.session() as s:
        st = state.states(s, ["s"])["s"]
    assert (st.cursor, st.status) == ("c1", "failed")
    assert st.errors and st.counts["added"] == 1
