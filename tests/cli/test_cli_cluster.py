"""The cluster options of the CLI without a cluster: `cluster status` and `serve --cluster` need
PostgreSQL and say so before connecting anywhere. (Against a real two-node cluster they are
tested in tests/cluster/test_equivalence.py and tests/cluster/test_serve_cluster.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from latentsearch.cli import app
from latentsearch.cli.app import EXIT_USAGE

runner = CliRunner()


def test_cluster_status_needs_postgresql(tmp_path: Path) -> None:
    res = runner.invoke(app, ["cluster", "status", "--index", str(tmp_path / "idx")])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "--database postgresql+psycopg://" in res.output
    assert not (tmp_path / "idx").exists()  # nothing was created


def test_serve_cluster_needs_postgresql(tmp_path: Path) -> None:
    res = runner.invoke(app, ["serve", "--index", str(tmp_path), "--cluster", "auto"])
    assert res.exit_code == 2, res.output
    assert "--cluster needs --database postgresql" in res.output


def test_cluster_status_help_has_examples() -> None:
    res = runner.invoke(app, ["cluster", "status", "--help"])
    assert res.exit_code == 0
    assert "latentsearch cluster status --index" in res.output
    assert "--json" in res.output and "--cluster" in res.output


@pytest.mark.postgres
def test_serve_says_when_no_cluster_answers(tmp_path: Path, pg_url: str) -> None:
    args = ["serve", "--index", str(tmp_path), "--database", pg_url, "--cluster", "127.0.0.1:9"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "no Ray cluster answers at '127.0.0.1:9'" in res.output
