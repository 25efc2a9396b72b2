"""Connector types by name: the ``type =`` of a ``[[source]]`` -> its `Connector` class.

Each built-in type is imported only when a source of that type is used, so a missing optional
library (GitPython, imapclient, a MySQL driver...) fails that source alone, with a
`MissingExtraError` naming the extra to install. A custom connector is either registered in
Python (`register`) or named in sources.toml as ``type = "package.module:ClassName"``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from latentsearch.connectors.base import Connector
from latentsearch.errors import MissingExtraError, SourceConfigError


@dataclass(frozen=True, slots=True)
class Builtin:
    module: str
    cls: str
    extra: str | None  # the pip extra holding its optional libraries, None if it needs none


BUILTIN: dict[str, Builtin] = {
    "sql": Builtin("latentsearch.connectors.sql", "SqlConnector", "sql"),
    "files": Builtin("latentsearch.connectors.files", "FilesConnector", None),
    "git": Builtin("latentsearch.connectors.git", "GitConnector", "git"),
    "web": Builtin("latentsearch.connectors.web", "WebConnector", "web"),
    "imap": Builtin("latentsearch.connectors.imap", "ImapConnector", "mail"),
    "maildir": Builtin("latentsearch.connectors.maildir", "MaildirConnector", None),
    "mbox": Builtin("latentsearch.connectors.maildir", "MboxConnector", None),
}

_custom: dict[str, type[Connector]] = {}


def register(cls: type[Connector], name: str | None = None) -> type[Connector]:
    """Make ``cls`` available as ``type = name`` (default: ``cls.type``); usable as a decorator."""
    key = name or getattr(cls, "type", None)
    if not key:
        raise SourceConfigError(f"{cls.__name__} has no `type`: set `type = '...'` on the class")
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise SourceConfigError(f"{cls!r} is not a latentsearch Connector subclass")
    _custom[key] = cls
    return cls


def types() -> list[str]:
    """Every type name known now (built-in and registered)."""
    return sorted({*BUILTIN, *_custom})


def connector_class(type_name: str) -> type[Connector]:
    """The class for ``type_name``: a registered or built-in type, or ``module:Class``."""
    if type_name in _custom:
        return _custom[type_name]
    if type_name in BUILTIN:
        return _builtin(type_name, BUILTIN[type_name])
    if ":" in type_name:
        return _dotted(type_name)
    raise SourceConfigError(
        f"unknown source type {type_name!r}; use one of {', '.join(types())}, "
        "or 'package.module:ClassName' for a connector of your own"
    )


def _builtin(type_name: str, spec: Builtin) -> type[Connector]:
    module_name = spec.module
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is not None and exc.name.startswith(module_name):
            raise SourceConfigError(
                f"source type {type_name!r} is not available in this version of latentsearch"
            ) from exc
        if spec.extra is None:
            raise
        raise MissingExtraError(
            f"source type {type_name!r} needs {exc.name or 'a library'} that is not installed; "
            f"install it with: pip install 'latentsearch[{spec.extra}]'"
        ) from exc
    cls: type[Connector] = getattr(module, spec.cls)
    return cls


def _dotted(type_name: str) -> type[Connector]:
    module_name, _, attr = type_name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceConfigError(
            f"cannot import {module_name!r} for source type {type_name!r}: {exc}"
        ) from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise SourceConfigError(
            f"{type_name!r} does not name a Connector subclass (module {module_name!r} has "
            f"{'no ' + repr(attr) if cls is None else repr(attr) + ' but it is not one'})"
        )
    return cls
