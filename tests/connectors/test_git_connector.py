"""The git connector against real repositories made with `git init`: add, modify, delete,
rename, permission rules (settings and CODEOWNERS), resume after a kill, remote mirrors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitkit import GitRepo, Run

from latentsearch.connectors.base import Checkpoint, Deleted, Record
from latentsearch.connectors.git import GitConnector
from latentsearch.connectors.gitrepo import GitError
from latentsearch.errors import ConnectorError, SourceConfigError

OWNERS = {"*": ["*"], "docs/finance/**": ["group:finance"]}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "runbooks")
    r.write("README.md", "# Runbooks\n\nHow we run things.\n")
    r.write("docs/vpn.md", "# VPN\n\nline 3\nline 4\n")
    r.write("docs/finance/budget.md", "# Budget\n\nQ3 numbers.\n")
    r.write("tools/build.py", "print('not indexed: .py is no loader suffix')\n")
    r.write("logo.png", "not really a png")
    r.commit("first")
    return r


def connector(repo: GitRepo, **settings: object) -> GitConnector:
    return GitConnector("runbooks", {"repo": str(repo.root), "owners": OWNERS, **settings}, {})


def test_first_run_lists_every_file_with_path_commit_lines_and_acl(repo: GitRepo) -> None:
    run = Run(connector(repo).changes(None))
    head = repo.git("rev-parse", "HEAD").strip()
    assert set(run.records) == {"README.md", "docs/vpn.md", "docs/finance/budget.md"}
    vpn = run.records["docs/vpn.md"]
    assert vpn.content == b"# VPN\n\nline 3\nline 4\n" and vpn.filename == "vpn.md"
    assert vpn.uri == f"runbooks/docs/vpn.md@{head}#L1-L4"
    assert vpn.metadata == {
        "repo": "runbooks",
        "path": "docs/vpn.md",
        "commit": head,
        "blob": repo.blob("docs/vpn.md"),
        "lines": [1, 4],
    }
    assert vpn.acl == ["*"]
    assert run.records["docs/finance/budget.md"].acl == ["group:finance"]
    assert json.loads(run.cursor)["commit"] == head
    assert not run.deleted and not run.failed


def test_unchanged_repository_yields_only_the_checkpoint(repo: GitRepo) -> None:
    c = connector(repo)
    first = Run(c.changes(None))
    again = Run(c.changes(first.cursor))
    assert again.all == [Checkpoint(first.cursor)]


def test_add_modify_delete_rename_by_commit_diff(repo: GitRepo) -> None:
    c = connector(repo)
    first = Run(c.changes(None))
    repo.write("docs/new.md", "# New\n")
    repo.write("README.md", "# Runbooks\n\nChanged text.\n")
    repo.git("rm", "-q", "docs/vpn.md")
    repo.git("mv", "docs/finance/budget.md", "docs/finance/budget-2026.md")
    head = repo.commit("second")
    run = Run(c.changes(first.cursor))
    assert set(run.records) == {"docs/new.md", "README.md", "docs/finance/budget-2026.md"}
    assert run.deleted == {"docs/vpn.md", "docs/finance/budget.md"}
    renamed = run.records["docs/finance/budget-2026.md"]
    # same blob, same principals: the same version as the old id had
    assert renamed.version == first.records["docs/finance/budget.md"].version
    assert renamed.acl == ["group:finance"] and renamed.metadata["commit"] == head
    assert run.records["README.md"].version != first.records["README.md"].version
    assert json.loads(run.cursor)["commit"] == head


def test_files_outside_include_or_under_exclude_are_not_records(repo: GitRepo) -> None:
    run = Run(connector(repo, include=["docs/"], exclude=["finance/"]).changes(None))
    assert set(run.records) == {"docs/vpn.md"}
    repo.write("docs/finance/more.md", "x\n")
    repo.write("other.md", "y\n")
    repo.commit()
    later = Run(connector(repo, include=["docs/"], exclude=["finance/"]).changes(run.cursor))
    assert not later.records and not later.deleted


def test_owner_rule_change_changes_versions_and_deletes_unreadable(repo: GitRepo) -> None:
    first = Run(connector(repo).changes(None))
    rules = {"*": ["*"], "docs/finance/**": ["group:finance", "group:audit"], "README.md": []}
    run = Run(connector(repo, owners=rules).changes(first.cursor))
    # the rule changed, so every file is listed again; the runner skips same versions
    assert run.deleted == {"README.md"}  # no principal left
    assert run.records["docs/finance/budget.md"].acl == ["group:audit", "group:finance"]
    assert (
        run.records["docs/finance/budget.md"].version
        != first.records["docs/finance/budget.md"].version
    )
    assert run.records["docs/vpn.md"].version == first.records["docs/vpn.md"].version


def test_codeowners_file_with_team_map_last_match_wins(repo: GitRepo) -> None:
    repo.write(
        ".github/CODEOWNERS",
        "# owners\n*  @acme/everyone\ndocs/*  @acme/ops  # direct children only\n"
        "/docs/finance/  @acme/finance alice@example.com\n",
    )
    repo.commit("codeowners")
    teams = {"@acme/everyone": "*"}
    c = GitConnector("rb", {"repo": str(repo.root), "codeowners": True, "teams": teams}, {})
    run = Run(c.changes(None))
    assert run.records["README.md"].acl == ["*"]
    assert run.records["docs/vpn.md"].acl == ["group:ops"]
    assert run.records["docs/finance/budget.md"].acl == [
        "group:finance",
        "user:alice@example.com",
    ]
    # the CODEOWNERS file changes in a commit that touches nothing else: versions follow
    repo.write(".github/CODEOWNERS", "*  @acme/everyone\n")
    repo.commit("open up")
    later = Run(c.changes(run.cursor))
    assert later.records["docs/finance/budget.md"].acl == ["*"]
    assert later.records["docs/vpn.md"].acl == ["*"]
    assert later.records["README.md"].version == run.records["README.md"].version


def test_a_killed_run_resumes_from_its_last_checkpoint(repo: GitRepo) -> None:
    for n in range(7):
        repo.write(f"notes/n{n}.md", f"note {n}\n")
    repo.commit()
    c = connector(repo, checkpoint_every=3)
    full = Run(c.changes(None))
    assert len(full.checkpoints) == 4  # after 3, 6, 9 files and at the end
    mid = full.checkpoints[1]
    resumed = Run(c.changes(mid))
    order = sorted(full.records)
    assert list(resumed.records) == order[6:]
    assert resumed.cursor == full.cursor


def test_force_push_lists_everything_and_keys_give_the_deletions(repo: GitRepo) -> None:
    c = connector(repo)
    first = Run(c.changes(None))
    gone = json.loads(first.cursor)
    gone["commit"] = "0" * 40
    assert c.keys() is None
    run = Run(c.changes(json.dumps(gone)))
    assert set(run.records) == set(first.records)
    assert sorted(c.keys() or []) == sorted(first.records)


def test_a_url_is_mirrored_and_fetched(repo: GitRepo, tmp_path: Path) -> None:
    url = repo.root.as_uri()
    c = GitConnector("rb", {"repo": url, "cache_dir": str(tmp_path / "cache")}, {})
    first = Run(c.changes(None))
    assert set(first.records) == {"README.md", "docs/vpn.md", "docs/finance/budget.md"}
    assert first.records["README.md"].acl is None  # no rule: the collection's default
    repo.write("docs/later.md", "later\n")
    repo.commit()
    run = Run(c.changes(first.cursor))
    assert set(run.records) == {"docs/later.md"}


def test_a_large_file_fails_alone(repo: GitRepo) -> None:
    repo.write("docs/huge.md", "x" * 5000)
    repo.commit()
    run = Run(connector(repo, max_bytes=1000).changes(None))
    assert "too large" in run.failed["docs/huge.md"]
    assert "docs/vpn.md" in run.records


def test_bad_settings_are_typed_errors(repo: GitRepo, tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="needs repo"):
        GitConnector("x", {}, {})
    with pytest.raises(SourceConfigError, match="does not exist"):
        GitConnector("x", {"repo": str(tmp_path / "nope")}, {})
    with pytest.raises(GitError, match="not a git repository"):
        GitConnector("x", {"repo": str(tmp_path)}, {})
    with pytest.raises(GitError, match="no branch 'nope'"):
        list(connector(repo, branch="nope").changes(None))
    with pytest.raises(SourceConfigError, match="uri template"):
        connector(repo, uri="{repo}/{file}")
    with pytest.raises(SourceConfigError, match="negation"):
        connector(repo, owners={"!docs": ["*"]})


def test_deleted_and_records_are_the_types_the_runner_takes(repo: GitRepo) -> None:
    run = Run(connector(repo).changes(None))
    assert all(isinstance(c, Record | Checkpoint | Deleted) for c in run.all)


def test_narrowing_include_deletes_what_is_no_longer_selected(repo: GitRepo) -> None:
    first = Run(connector(repo).changes(None))
    run = Run(connector(repo, include=["docs/"]).changes(first.cursor))
    assert run.deleted == {"README.md"}
    assert set(run.records) == {"docs/vpn.md", "docs/finance/budget.md"}
    assert "tools/build.py" not in run.deleted  # never selected, so never deleted


def test_a_cursor_of_another_kind_is_a_typed_error(repo: GitRepo) -> None:
    with pytest.raises(ConnectorError, match="not a git cursor"):
        list(connector(repo).changes('{"pages": {}}'))


def test_codeowners_at_a_given_path_and_a_folder_is_no_file(repo: GitRepo) -> None:
    repo.write("meta/OWNERS", "*.md @acme/writers\n")
    repo.commit()
    given = GitConnector("rb", {"repo": str(repo.root), "codeowners": "meta/OWNERS"}, {})
    assert Run(given.changes(None)).records["README.md"].acl == ["group:writers"]
    folder = GitConnector("rb", {"repo": str(repo.root), "codeowners": "meta"}, {})
    assert Run(folder.changes(None)).records["README.md"].acl is None
