"""The CLI reference, rendered from the typer app at build time (a mkdocs hook).

A page that holds the line ``<!-- cli-reference -->`` gets, in its place, one section per
command of ``latentsearch.cli.app``: its help, usage, arguments and options (as ``--help``
prints them, with defaults, ranges and environment variables) and the examples of its
``--help``. Nothing is copied by hand, so the reference cannot drift from the code;
tests/docs/test_cli_documented.py checks this output against the app, and the hand-written
pages against the app.

typer >= 0.22 vendors click (``typer._click``) where older releases use click itself, so this
module uses only what both share (``get_help_record``, ``collect_usage_pieces``,
``list_commands``), never ``isinstance`` against one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PLACEHOLDER = "<!-- cli-reference -->"
PROG = "latentsearch"

Command = Any  # a click (or typer._click) Command
# rich style tags such as [bold], [dim], [/bold red], [/]; never "[default: 10]" or "[required]"
STYLE_TAG = re.compile(r"\[/?(?:(?:bold|dim|italic|underline|red|green|yellow|blue|cyan)\s*)*\]")


def cli_command() -> Command:
    """The click command behind the ``latentsearch`` console script."""
    import typer

    from latentsearch.cli import app

    return typer.main.get_command(app)


def is_group(command: Command) -> bool:
    return hasattr(command, "list_commands")


def walk(
    command: Command, path: tuple[str, ...] = (), parent: Any = None
) -> Iterator[tuple[tuple[str, ...], Command, Any]]:
    """Every command under ``command`` (itself first): its path below the root, the command and
    a click context for it (what help records and usage need)."""
    ctx = command.context_class(command, info_name=" ".join((PROG, *path)), parent=parent)
    yield path, command, ctx
    if is_group(command):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name), ctx)


def anchor(path: tuple[str, ...]) -> str:
    """The heading id of a command: ``build``, ``keys-create``; ``global-options`` for the root."""
    return "-".join(path) if path else "global-options"


def plain(text: str | None) -> str:
    """Help text without rich style tags (``[bold]...[/bold]``), as the terminal shows it."""
    return STYLE_TAG.sub("", text or "").strip()


def params(command: Command, ctx: Any) -> list[tuple[str, str, str]]:
    """``(kind, names and metavar, help)`` of each visible parameter, as ``--help`` lists them."""
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            rows.append((param.param_type_name, record[0], plain(record[1])))
    return rows


def option_names(command: Command, ctx: Any) -> set[str]:
    """Every option spelling a command accepts (``-k``, ``--k``, ``--chunks``...)."""
    names: set[str] = set()
    for param in command.get_params(ctx):
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def prose(text: str) -> str:
    """Help text as literal Markdown: no HTML tags from ``<name>``, no emphasis from ``*``."""
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("*", "\\*"), ("_", "\\_")):
        text = text.replace(char, escaped)
    return text


def _table(header: str, rows: list[tuple[str, str, str]]) -> list[str]:
    if not rows:
        return []
    lines = [f"| {header} | meaning |", "| --- | --- |"]
    lines += [f"| `{_cell(names)}` | {prose(_cell(help_text))} |" for _, names, help_text in rows]
    return [*lines, ""]


def section(path: tuple[str, ...], command: Command, ctx: Any) -> list[str]:
    """The Markdown of one command (the root: the global options)."""
    level = "#" * (2 + max(0, len(path) - 1))
    title = "Global options" if not path else f"`{PROG} {' '.join(path)}`"
    lines = [f"{level} {title} {{#{anchor(path)}}}", ""]
    if path and plain(command.help):
        lines += [prose(plain(command.help)), ""]
    if path:
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += ["```text", f"{PROG} {' '.join(path)} {usage}".rstrip(), "```", ""]
    else:
        lines += ["They come before the command: `latentsearch --debug search ...`.", ""]
    if path and is_group(command):
        subs = command.list_commands(ctx)
        lines += ["Commands: " + ", ".join(f"[`{s}`](#{anchor((*path, s))})" for s in subs), ""]
    rows = params(command, ctx)
    lines += _table("argument", [r for r in rows if r[0] == "argument"])
    lines += _table("option", [r for r in rows if r[0] == "option"])
    epilog = plain(command.epilog)
    if epilog:
        examples = epilog.removeprefix("Examples").strip("\n")
        lines += ["Examples:", "", "```text", examples, "```", ""]
    return lines


def render() -> str:
    """The whole reference, as Markdown: a table of commands, then one section each."""
    commands = list(walk(cli_command()))
    lines = ["| command | what it does |", "| --- | --- |"]
    for path, command, _ in commands:
        if path:
            summary = plain(command.get_short_help_str(limit=200))
            lines.append(f"| [`{' '.join(path)}`](#{anchor(path)}) | {prose(_cell(summary))} |")
    lines.append("")
    for path, command, ctx in commands:
        lines += section(path, command, ctx)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs hook: replace the placeholder with the rendered reference."""
    if PLACEHOLDER in markdown:
        return markdown.replace(PLACEHOLDER, render())
    return markdown
