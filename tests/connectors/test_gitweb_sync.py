"""The git and web connectors end to end: a sources.toml, the sync runner, a real index with
the bundled text model. Syncing twice encodes nothing the second time; deletes and renames reach
the collection; the path rule's principals decide what a search returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitkit import GitRepo
from typer.testing import CliRunner
from webkit import Site, intranet, serve

import latentsearch as ls
from latentsearch.cli import app
from latentsearch.connectors.config import parse_sources
from latentsearch.connectors.runner import SyncResult, sync_source
from latentsearch.errors import ItemNotFoundError


class Encoded:
    """Counts the texts the collection's real encoder embeds (what a sync cost)."""

    def __init__(self, col: ls.Collection) -> None:
        self.texts = 0
        enc, original = col.encoder, col.encoder.encode_texts

        def encode_texts(texts, **kw):  # type: ignore[no-untyped-def]
            self.texts += len(texts)
            return original(texts, **kw)

        enc.encode_texts = encode_texts  # type: ignore[method-assign]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ls.Database]:
    d = ls.connect(tmp_path / "idx", device="cpu")
    yield d
    d.close()


@pytest.fixture
def encoded(db: ls.Database) -> Encoded:
    return Encoded(db.create_collection("docs", encoder="text"))


def sync(db: ls.Database, toml: str) -> SyncResult:
    (src,) = parse_sources(toml).sources
    res = sync_source(db, src)
    assert res.status == "done", res.errors
    return res


GIT_TOML = """
[[source]]
name = "runbooks"
type = "git"
collection = "docs"
[source.settings]
repo = "{repo}"
owners = {{ "*" = ["*"], "finance/**" = ["group:finance"] }}
uri = "https://git.example.com/runbooks/blob/{{commit}}/{{path}}#L{{start}}-L{{end}}"
"""


def test_git_source_syncs_incrementally_with_renames_and_path_acls(
    tmp_path: Path, db: ls.Database, encoded: Encoded
) -> None:
    repo = GitRepo(tmp_path / "runbooks")
    repo.write("vpn.md", "# VPN\n\nReset the VPN token in the self-service portal.\n")
    repo.write("oncall.md", "# On call\n\nPage the on-call engineer through the pager app.\n")
    repo.write("finance/budget.md", "# Budget\n\nThe quarterly budget review is in March.\n")
    first = repo.commit()
    toml = GIT_TOML.format(repo=repo.root)
    res = sync(db, toml)
    assert (res.added, res.unchanged, encoded.texts) == (3, 0, 3)
    col = db.collection("docs")
    vpn = col.get("runbooks:vpn.md")
    assert vpn.source.uri == f"https://git.example.com/runbooks/blob/{first}/vpn.md#L1-L3"
    assert vpn.source.title == "VPN"  # the Markdown loader's heading
    assert vpn.metadata["lines"] == [1, 3] and vpn.metadata["commit"] == first

    # the path rule decides who finds the finance file
    budget = "runbooks:finance/budget.md"
    assert budget in {h.id for h in col.search("budget review", k=3, principals=["group:finance"])}
    assert budget not in {h.id for h in col.search("budget review", k=3, principals=["user:bob"])}

    before = encoded.texts  # (the searches encoded their queries)
    again = sync(db, toml)
    assert (again.added, again.updated, again.unchanged, encoded.texts) == (0, 0, 0, before)

    repo.move("vpn.md", "network/vpn.md")
    repo.git("rm", "-q", "oncall.md")
    repo.write("finance/budget.md", "# Budget\n\nThe quarterly budget review moved to April.\n")
    second = repo.commit()
    res = sync(db, toml)
    assert (res.added, res.updated, res.deleted) == (1, 1, 2)
    for gone in ("runbooks:vpn.md", "runbooks:oncall.md"):
        with pytest.raises(ItemNotFoundError):
            col.get(gone)
    moved = col.get("runbooks:network/vpn.md")
    assert moved.metadata["path"] == "network/vpn.md" and moved.metadata["commit"] == second
    assert "April" in (col.get(budget).text or "")
    assert col.count() == 2

    # the rule changes: the finance file opens up without being encoded again
    before = encoded.texts
    opened = toml.replace('"finance/**" = ["group:finance"]', '"finance/**" = ["*"]')
    res = sync(db, opened)
    assert res.updated == 1 and res.unchanged == 1 and encoded.texts == before
    assert budget in {h.id for h in col.search("budget review", k=3, principals=["user:bob"])}


WEB_TOML = """
[[source]]
name = "wiki"
type = "web"
collection = "docs"
[source.settings]
start_urls = ["{base}/"]
delay = 0
owners = {{ "*" = ["*"], "docs/leave.html" = ["group:hr"] }}
"""


def test_web_source_syncs_with_304s_deletes_and_acls(db: ls.Database, encoded: Encoded) -> None:
    with serve(Site()) as site:
        intranet(site)
        toml = WEB_TOML.format(base=site.base)
        b = site.base
        res = sync(db, toml)
        assert res.added == 6 and res.failed == 0
        col = db.collection("docs")
        vpn = col.get(f"wiki:{b}/docs/vpn.html")
        assert vpn.source.title == "VPN setup" and vpn.source.uri == f"{b}/docs/vpn.html"
        assert "Install the VPN client" in (vpn.text or "")
        assert "<p>" not in (vpn.text or "")  # text extracted by the HTML loader
        col.get(f"wiki:{b}/docs/new.html")
        with pytest.raises(ItemNotFoundError):
            col.get(f"wiki:{b}/docs/old.html")
        leave = f"wiki:{b}/docs/leave.html"
        assert leave in {h.id for h in col.search("annual leave", k=3, principals=["group:hr"])}
        assert leave not in {h.id for h in col.search("annual leave", k=3, principals=["user:x"])}

        encoded_once, served = encoded.texts, dict(site.served)  # after the searches' queries
        again = sync(db, toml)
        assert (again.added, again.updated, encoded.texts) == (0, 0, encoded_once)
        assert {p: n for p, n in site.served.items() if p.startswith("/docs/")} == {
            p: n for p, n in served.items() if p.startswith("/docs/")
        }

        site.html("/docs/vpn.html", "VPN setup", "The VPN now needs a hardware key to sign in.")
        del site.pages["/docs/expenses.html"]
        res = sync(db, toml)
        assert (res.updated, res.deleted) == (1, 1)
        assert "hardware key" in (col.get(f"wiki:{b}/docs/vpn.html").text or "")
        with pytest.raises(ItemNotFoundError):
            col.get(f"wiki:{b}/docs/expenses.html")


def test_git_source_through_the_cli(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "rb")
    repo.write("a.md", "# A\n\nAlpha runbook text.\n")
    head = repo.commit()
    toml = tmp_path / "sources.toml"
    toml.write_text(GIT_TOML.format(repo=repo.root))
    idx = str(tmp_path / "idx")
    runner = CliRunner()
    out = runner.invoke(app, ["sync", str(toml), "--index", idx, "--json", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    (result,) = json.loads(out.stdout)
    assert result["added"] == 1 and result["status"] == "done"
    out = runner.invoke(app, ["sources", "status", str(toml), "--index", idx, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(json.loads(out.stdout)[0]["cursor"])["commit"] == head


def test_each_chunk_of_a_git_file_points_at_its_own_lines(tmp_path: Path, db: ls.Database) -> None:
    repo = GitRepo(tmp_path / "rb")
    lines = [f"Line {n} explains step {n} of restoring the database backup." for n in range(1, 41)]
    repo.write("restore.md", "\n".join(lines) + "\n")
    head = repo.commit()
    toml = GIT_TOML.format(repo=repo.root).replace(
        'collection = "docs"', 'collection = "docs"\nchunk_size = 48\nchunk_overlap = 0'
    )
    sync(db, toml)
    col = db.collection("docs")
    chunks = []
    for n in range(100):
        try:
            chunks.append(col.get(f"runbooks:restore.md#{n}"))
        except ItemNotFoundError:
            break
    assert len(chunks) >= 3
    for item in chunks:
        a, b = item.metadata["lines"]
        assert 1 <= a <= b <= 40
        assert (item.text or "").strip() in "\n".join(lines[a - 1 : b])
        assert item.source.uri == (
            f"https://git.example.com/runbooks/blob/{head}/restore.md#L{a}-L{b}"
        )
    assert chunks[0].metadata["lines"][0] == 1 and chunks[-1].metadata["lines"][1] == 40


def test_a_git_sync_killed_part_way_resumes_without_loss_or_duplicates(
    tmp_path: Path, db: ls.Database, encoded: Encoded
) -> None:
    from latentsearch.connectors.git import GitConnector

    repo = GitRepo(tmp_path / "rb")
    for n in range(9):
        repo.write(f"notes/n{n}.md", f"# Note {n}\n\nRunbook note number {n} about service {n}.\n")
    repo.commit()
    toml = GIT_TOML.format(repo=repo.root).replace(
        "[source.settings]", "[source.settings]\ncheckpoint_every = 3"
    )
    (src,) = parse_sources(toml).sources

    class Dies(GitConnector):
        def changes(self, cursor: str | None):  # type: ignore[no-untyped-def]
            for n, change in enumerate(super().changes(cursor)):
                if n == 6:  # after the second checkpoint's first record was handed over
                    raise ConnectionError("killed")
                yield change

    dying = Dies("runbooks", src.connector_settings(), {})
    res = sync_source(db, src, connector=dying)
    assert res.status == "failed" and json.loads(res.cursor or "{}")["after"] == "notes/n2.md"
    res = sync(db, toml)
    col = db.collection("docs")
    assert col.count() == 9
    assert encoded.texts == 9  # each file encoded once, across both runs
    assert {col.get(f"runbooks:notes/n{n}.md").metadata["path"] for n in range(9)} == {
        f"notes/n{n}.md" for n in range(9)
    }
