"""The command itself: entry points, --version, --help examples, exit codes and one-line errors."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from corpus import run, subprocess_cli

import latentsearch
from latentsearch.cli import app, main

COMMANDS = [
    "build",
    "search",
    "query",
    "analogy",
    "info",
    "delete",
    "eval",
    "backup",
    "restore",
]  # and serve, keys (issue 6)


def test_version_and_entry_points() -> None:
    result = run("--version")
    assert (
        result.exit_code == 0
        and result.stdout.strip() == f"latentsearch {latentsearch.__version__}"
    )
    proc = subprocess_cli("--version")
    assert (
        proc.returncode == 0 and proc.stdout.strip() == f"latentsearch {latentsearch.__version__}"
    )
    (script,) = [
        e
        for e in importlib.metadata.entry_points(group="console_scripts")
        if e.name == "latentsearch"
    ]
    assert script.value == "latentsearch.cli:main" and callable(main)


def test_top_level_help_lists_every_command() -> None:
    proc = subprocess_cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout
    assert "Usage: latentsearch" in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_examples_in_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and f"latentsearch {command}" in result.stdout
    assert command in {c.name for c in app.registered_commands}


def _one_line(result, code: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("errors")
    (root / "a.md").write_text("# Coffee\n\nThe coffee machine is cleaned every Monday.")
    assert run("build", root / "a.md", "--index", root / "idx").exit_code == 0
    return root / "idx"


def test_missing_index_is_not_found(tmp_path: Path) -> None:
    for args in (
        ["search", "x"],
        ["query", "x"],
        ["analogy", "-P", "x"],
        ["info"],
        ["delete", "--id", "x"],
    ):
        _one_line(
            run(*args, "--index", tmp_path / "nope"),
            3,
            "no index at",
            "latentsearch build SOURCE --index",
        )
    assert not (tmp_path / "nope").exists()  # reading never creates an index


def test_unknown_collection_and_bad_where(index: Path) -> None:
    _one_line(
        run("search", "x", "--index", index, "-c", "nope"),
        3,
        "no collection 'nope'",
        "existing: default",
    )
    _one_line(
        run("search", "x", "--index", index, "--where", "{team: eng}"),
        2,
        "--where is not valid JSON",
        "column 2",
    )
    _one_line(
        run("search", "x", "--index", index, "--where", "[1]"), 2, "--where must be a JSON object"
    )
    _one_line(run("delete", "--index", index), 2, "give --id ID")
    _one_line(run("search", "--index", index), 2, "give a QUERY or --image")
    _one_line(run("search", "x", "--image", "missing.png", "--index", index), 2)
    _one_line(
        run("analogy", "-P", "x", "--method", "cos", "--index", index), 2, "3cosadd or 3cosmul"
    )


def test_build_usage_errors(tmp_path: Path, index: Path) -> None:
    _one_line(run("build", tmp_path / "missing", "--index", tmp_path / "i"), 2, "does not exist")
    _one_line(run("build", f"{tmp_path}/*.nothing", "--index", tmp_path / "i"), 2, "no files match")
    _one_line(
        run("build", index.parent / "a.md", "--index", index, "--chunk-size", "5000", "--force"),
        2,
        "chunk size 5000",
    )
    _one_line(
        run("build", index.parent / "a.md", "--index", index, "--max-file-size", "lots"),
        2,
        "cannot read size",
    )
    # Option errors from the parser itself: exit 2 too, without a traceback.
    result = run("build", "--index", index)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = subprocess_cli("--debug", "info", "--index", tmp_path / "nope")
    assert proc.returncode == 3
    assert "Traceback" in proc.stderr and "IndexNotFoundError" in proc.stderr
    quiet = subprocess_cli("info", "--index", tmp_path / "nope")
    assert quiet.returncode == 3 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().startswith("Error: no index at")
