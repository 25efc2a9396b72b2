"""The typer app, global options, exit codes and the one place where errors become messages.

Exit codes (documented in docs/cli.md, "Exit codes and errors"):

====  ===========================================================================
0     success
1     ``build``: something failed and ``--strict`` was given, or nothing could be indexed
2     usage error: a bad option or argument, malformed ``--where`` JSON, invalid input
3     not found: no index at ``--index``, an unknown collection or item
4     the operation failed: the database, model, device or disk refused
70    internal error (a bug: rerun with ``--debug`` and report the traceback)
130   interrupted (Ctrl-C); the index stays consistent and the next build resumes
====  ===========================================================================
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

import latentsearch
from latentsearch.encoders.backends import ENV_VAR as BACKEND_ENV
from latentsearch.encoders.backends import requested as requested_backend
from latentsearch.errors import (
    CollectionExistsError,
    EncoderMismatchError,
    InvalidInputError,
    LatentSearchError,
    NotFoundError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_ERROR = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

out = Console(soft_wrap=False)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug = False


state = _State()

app = typer.Typer(
    name="latentsearch",
    help=(
        "Build and query latentsearch indexes: folders of documents, record exports and images, "
        "embedded and searchable by meaning.\n\n"
        "Start with [bold]latentsearch build docs/ --index idx[/bold], then "
        '[bold]latentsearch search "vpn is down" --index idx[/bold]. '
        "Every command has examples in its --help."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        out.print(f"latentsearch {latentsearch.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log everything and show full tracebacks on errors.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what happens (INFO level).")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            envvar=BACKEND_ENV,
            show_default=False,
            help="Encoder runtime: auto (default), torch, onnx, onnx-int8 or openvino.",
        ),
    ] = None,
) -> None:
    state.debug = debug
    if backend:
        try:
            os.environ[BACKEND_ENV] = requested_backend(backend)  # read by connect()
        except LatentSearchError as exc:
            raise typer.BadParameter(str(exc), param_hint="--backend") from None
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    if not debug:
        for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "faiss"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
        _quiet_model_loading()


def _quiet_model_loading() -> None:
    """No "Loading weights" bars from transformers on every command (they would garble ours)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def fail(message: str, code: int) -> NoReturn:
    """Print a one-line error to stderr and exit with ``code``."""
    err.print(f"[bold red]Error:[/bold red] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, InvalidInputError | EncoderMismatchError | CollectionExistsError):
        return EXIT_USAGE
    return EXIT_ERROR


def handle_errors(fn: F) -> F:
    """Turn errors into one-line messages and documented exit codes (tracebacks with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err.print(
                "[yellow]Interrupted.[/yellow] The index is consistent; run the same build again to resume."
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except LatentSearchError as exc:
            _traceback()
            fail(_escape(str(exc)), exit_code(exc))
        except OSError as exc:
            _traceback()
            fail(
                _escape(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"),
                EXIT_ERROR,
            )
        except Exception as exc:
            _traceback()
            if _is_database_error(exc):
                fail(_escape(f"database error: {getattr(exc, 'orig', None) or exc}"), EXIT_ERROR)
            fail(
                _escape(
                    f"internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it"
                ),
                EXIT_INTERNAL,
            )

    return wrapper  # type: ignore[return-value]


def _is_database_error(exc: Exception) -> bool:
    """A SQLAlchemy error, checked without importing SQLAlchemy (``--help`` never needs it; a
    command that raised one has loaded it)."""
    exc_module = sys.modules.get("sqlalchemy.exc")
    return exc_module is not None and isinstance(exc, exc_module.SQLAlchemyError)


def _traceback() -> None:
    if state.debug:
        err.print_exception(show_locals=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
