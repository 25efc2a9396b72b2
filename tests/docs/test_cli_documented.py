"""Every CLI command and option is documented, and every documented command exists.

In the style of sqlite-utils' test_docs.py. The CLI reference is rendered from the typer app
when the docs are built (docs/hooks/cli_reference.py), so the first tests check that rendering
against the app: every command has its section, every option and argument its row. The last
test checks the hand-written pages (README.md and docs/*.md): every ``latentsearch ...``
command line in a code block or inline code names a command that exists, with options that
this command (or the global ones) accepts.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$")  # COMMAND in `latentsearch COMMAND --help`


def load_reference() -> ModuleType:
    path = ROOT / "docs" / "hooks" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_reference()
Commands = dict[tuple[str, ...], tuple[Any, Any]]  # command path -> (command, click context)


@pytest.fixture(scope="module")
def commands() -> Commands:
    """Every command path of the app (``()`` is the root), with its command and context."""
    return {path: (command, ctx) for path, command, ctx in ref.walk(ref.cli_command())}


@pytest.fixture(scope="module")
def rendered() -> str:
    return str(ref.render())


def sections(markdown: str) -> dict[str, str]:
    """The rendered reference cut at its headings, by heading id."""
    parts = re.split(r"^#{2,6} .*\{#([\w-]+)\}$", markdown, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_command_has_a_section(commands: Commands, rendered: str) -> None:
    found = sections(rendered)
    assert set(found) == {ref.anchor(path) for path in commands}, (
        "the reference's sections and the app's commands differ"
    )
    for path in commands:
        if path:
            assert f"`latentsearch {' '.join(path)}`" in rendered


def test_every_option_and_argument_is_documented(commands: Commands, rendered: str) -> None:
    found = sections(rendered)
    assert len(commands) >= 14  # 11 commands, keys' 3 subcommands and the root
    for path, (command, ctx) in commands.items():
        text = found[ref.anchor(path)]
        for param in command.get_params(ctx):
            if param.param_type_name == "option":
                for name in [*param.opts, *param.secondary_opts]:
                    assert re.search(rf"\| `[^`]*(?<![\w-]){re.escape(name)}\b", text), (
                        f"latentsearch {' '.join(path)}: option {name} is not in its reference"
                    )
                if param.help:
                    assert ref.prose(ref.plain(param.help).split("  [")[0][:40]) in text
            elif param.param_type_name == "argument":
                assert f"| `{param.name}" in text, (
                    f"latentsearch {' '.join(path)}: argument {param.name} is not documented"
                )


def test_every_command_keeps_its_examples(commands: Commands, rendered: str) -> None:
    found = sections(rendered)
    for path, (command, _) in commands.items():
        for line in ref.plain(command.epilog).splitlines():
            if line.strip().startswith("latentsearch "):
                assert line.strip() in found[ref.anchor(path)]


def command_lines(text: str) -> list[str]:
    """Code that may hold a command: each code block's lines (continuations joined), and
    inline code spans."""
    found: list[str] = []
    for block in FENCE.findall(text):
        found += block.replace("\\\n", " ").splitlines()
    prose = FENCE.sub("", text)
    found += INLINE.findall(prose)
    return found


def invocations(line: str) -> list[list[str]]:
    """The words after each ``latentsearch`` that starts a command in ``line``, up to the
    first shell operator (``|``, ``&``, ``;``, ``)``...) or comment."""
    lexer = shlex.shlex(line.replace("$(", " ( "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote in a usage line: read it word by word
        tokens = line.split()
    runs = []
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i else ""
        starts = i == 0 or before in {"$", "(", "|", "&&", ";", "&", "-m", "exec"}
        if token == "latentsearch" and starts:
            run = []
            for word in tokens[i + 1 :]:
                if word and set(word) <= set("|&;()<>"):
                    break
                run.append(word)
            runs.append(run)
    return runs


def options(command: Any, ctx: Any) -> dict[str, bool]:
    """Each option spelling of a command, and whether it takes a value (``--index PATH``)."""
    found = {"-h": False, "--help": False}
    for param in command.get_params(ctx):
        if param.param_type_name == "option":
            for name in [*param.opts, *param.secondary_opts]:
                found[name] = not param.is_flag and not getattr(param, "count", False)
    return found


def check(run: list[str], commands: Commands) -> str | None:
    """What is wrong with ``latentsearch <run>``, or None."""
    path: tuple[str, ...] = ()
    allowed = options(*commands[path])
    words = [w.strip("[]") for w in run]
    i = 0
    while i < len(words):
        word = words[i]
        name = word.split("=")[0]
        if name.startswith("-") and len(name) > 1 and not re.match(r"^-\d", name):
            if name not in allowed:
                return f"latentsearch {' '.join(path)} has no option {name}".replace("  ", " ")
            i += 2 if allowed[name] and "=" not in word else 1  # skip the option's value
            continue
        if not path or ref.is_group(commands[path][0]):  # the command, or a group's subcommand
            if PLACEHOLDER.match(word) or word in {"...", ""}:
                return None
            if (*path, word) not in commands:
                return f"no command latentsearch {' '.join((*path, word))}"
            path = (*path, word)
            allowed = options(*commands[path])
        i += 1
    return None


def test_pages_use_only_real_commands_and_options(commands: Commands) -> None:
    problems = []
    seen = 0
    for page in PAGES:
        for line in command_lines(page.read_text()):
            for run in invocations(line):
                seen += 1
                problem = check(run, commands)
                if problem:
                    problems.append(f"{page.relative_to(ROOT)}: {problem}: {line.strip()}")
    assert seen >= 40, "the scan found too few command lines: is it still reading the pages?"
    assert not problems, "\n".join(problems)


def test_the_check_catches_mistakes(commands: Commands) -> None:
    """The page check itself: a command or option that does not exist is reported."""
    assert check(["ingest", "docs/"], commands) == "no command latentsearch ingest"
    assert check(["--backend", "torch", "search", "x"], commands) is None
    assert check(["--top", "search"], commands) == "latentsearch has no option --top"
    assert (
        check(["search", "x", "--top", "3"], commands) == "latentsearch search has no option --top"
    )
    assert check(["keys", "rotate"], commands) == "no command latentsearch keys rotate"
    assert check(["--debug", "search", "x", "-k", "3", "--where", "{}"], commands) is None
    assert check(["COMMAND", "--help"], commands) is None
