"""sources.toml: the sources `latentsearch sync` reads, checked with pydantic.

Each ``[[source]]`` has a ``name``, a connector ``type``, the ``collection`` it fills, a
``schedule``, a ``[source.permissions]`` rule and a ``[source.settings]`` table for the
connector. Credentials never sit in the file: a setting ``X_env = "VAR"`` gives the connector the
secret ``X`` from the environment variable ``VAR``, and ``secrets_file = "path"`` reads secrets
from a TOML file of ``key = "value"`` lines. A setting that looks like a literal credential (a
key named password, token, secret..., or a URL holding a password) is refused with
`LiteralSecretError`, so a secret is never committed with the configuration.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from latentsearch.checks import check_principal
from latentsearch.connectors.schedule import Schedule, parse_schedule
from latentsearch.errors import InvalidInputError, LiteralSecretError, SourceConfigError

_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pwd|secret|secrets|token|api_?key|private_?key|credentials?|"
    r"client_secret|access_key)$",
    re.IGNORECASE,
)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class Permissions(BaseModel):
    """How a source's permissions become principals.

    ``map`` renames a principal the connector gives (``"Support" = "group:support"``, or a list
    of principals); ``unmapped`` says whether principals missing from ``map`` are kept or dropped;
    ``default`` is the ACL of records for which the connector gives none (None: the target
    collection's default ACL). A record whose principals all map to nothing has lost its
    permissions at the source and is deleted from the index.
    """

    model_config = ConfigDict(extra="forbid")

    map: dict[str, str | list[str]] = Field(default_factory=dict)
    unmapped: str = Field(default="keep", pattern="^(keep|drop)$")
    default: list[str] | None = None

    @field_validator("map")
    @classmethod
    def _principals(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for targets in v.values():
            for p in [targets] if isinstance(targets, str) else targets:
                check_principal(p, "permission map targets must be principals", "map target")
        return v

    def apply(self, acl: list[str] | None) -> list[str] | None:
        """The principals for a record's ACL (None: the collection's default)."""
        if acl is None:
            return None if self.default is None else list(self.default)
        out: list[str] = []
        for p in acl:
            if p in self.map:
                target = self.map[p]
                out += [target] if isinstance(target, str) else target
            elif self.unmapped == "keep":
                out.append(p)
        return sorted(set(out))


class SourceConfig(BaseModel):
    """One ``[[source]]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    type: str = Field(min_length=1)
    collection: str = Field(default="default", min_length=1)
    schedule: str = "1h"
    permissions: Permissions = Field(default_factory=Permissions)
    settings: dict[str, Any] = Field(default_factory=dict)
    # For a collection the sync creates: its encoder (text, clip, a model name) and chunking.
    encoder: str | None = None
    chunk_size: int | None = Field(default=None, ge=8)
    chunk_overlap: int | None = Field(default=None, ge=0)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        parse_schedule(v)
        return v

    @property
    def when(self) -> Schedule:
        return parse_schedule(self.schedule)

    def connector_settings(self) -> dict[str, Any]:
        """The settings the connector sees: without the keys that only name secrets."""
        return {
            k: v for k, v in self.settings.items() if not k.endswith("_env") and k != "secrets_file"
        }

    def secrets(self, base: Path | None = None) -> dict[str, str]:
        """Resolve the credentials now (at run time, so `sources status` needs none of them)."""
        out: dict[str, str] = {}
        if "secrets_file" in self.settings:
            out.update(_secrets_file(self.name, self.settings["secrets_file"], base))
        for key, var in self.settings.items():
            if not key.endswith("_env"):
                continue
            if not isinstance(var, str) or var not in os.environ:
                raise SourceConfigError(
                    f"source {self.name!r}: {key} names the environment variable {var!r}, "
                    "which is not set; export it before running latentsearch sync"
                )
            out[key.removesuffix("_env")] = os.environ[var]
        return out


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: list[SourceConfig] = Field(default_factory=list)
    # [[directory]] tables (users and groups) may share the file: `latentsearch directory sync
    # --config` reads and checks them (latentsearch.directory), so they are left alone here.
    directory: list[dict[str, Any]] | dict[str, Any] = Field(default_factory=list)


class Sources:
    """A parsed sources.toml: its sources in file order, and where it lives (relative paths in
    settings such as ``secrets_file`` are read from there)."""

    def __init__(self, sources: list[SourceConfig], path: Path | None = None) -> None:
        self.sources = sources
        self.path = path

    @property
    def base(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    def get(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise SourceConfigError(f"no source named {name!r} (sources: {known})")


def load_sources(path: str | Path) -> Sources:
    """Read and check a sources.toml file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceConfigError(f"no sources file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(f"cannot read {p}: {exc}") from None
    return parse_sources(text, p)


def parse_sources(text: str, path: Path | None = None) -> Sources:
    where = str(path) if path is not None else "sources.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceConfigError(f"{where} is not valid TOML: {exc}") from None
    for n, raw in enumerate(data.get("source") or [], 1):
        if isinstance(raw, Mapping):
            label = f"source {raw.get('name', f'#{n}')!r}"
            check_no_literal_secrets(raw.get("settings") or {}, f"{where}: {label}: settings")
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise SourceConfigError(f"{where}: {_explain(exc, data)}") from None
    except InvalidInputError as exc:  # a check inside a validator, re-raised as is by pydantic
        raise SourceConfigError(f"{where}: {exc}") from None
    names = [s.name for s in parsed.source]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SourceConfigError(f"{where}: source names must be unique; repeated: {dupes}")
    from latentsearch.connectors.registry import BUILTIN, connector_class

    for s in parsed.source:  # unknown types fail here, before anything runs
        if s.type not in BUILTIN:
            connector_class(s.type)
    return Sources(parsed.source, path)


def check_no_literal_secrets(settings: Mapping[str, Any], where: str) -> None:
    for key, value in settings.items():
        if isinstance(value, Mapping):
            check_no_literal_secrets(value, f"{where}.{key}")
            continue
        if _SECRET_KEY.search(str(key)) and value not in (None, ""):
            raise LiteralSecretError(
                f"{where}: {key!r} holds a literal credential; name an environment variable "
                f'instead ({key}_env = "VARIABLE") or put it in a secrets_file'
            )
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and "://" in v and _has_password(v):
                raise LiteralSecretError(
                    f"{where}: {key!r} is a URL with a password in it; leave the password out "
                    'and give it with password_env = "VARIABLE" (or secrets_file)'
                )


def _has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _secrets_file(source: str, value: Any, base: Path | None) -> dict[str, str]:
    p = Path(str(value)).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceConfigError(f"source {source!r}: no secrets file at {p}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceConfigError(f"source {source!r}: cannot read secrets file {p}: {exc}") from None
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise SourceConfigError(
            f'source {source!r}: secrets file {p} must hold key = "value" lines; not {bad}'
        )
    return dict(data)


def _explain(exc: ValidationError, data: Mapping[str, Any]) -> str:
    parts = []
    sources = data.get("source") or []
    for e in exc.errors():
        loc = list(e["loc"])
        label = ".".join(str(x) for x in loc)
        if len(loc) >= 2 and loc[0] == "source" and isinstance(loc[1], int):
            raw = sources[loc[1]] if loc[1] < len(sources) else {}
            name = raw.get("name", f"#{loc[1] + 1}") if isinstance(raw, Mapping) else loc[1] + 1
            label = f"source {name!r}: " + (".".join(str(x) for x in loc[2:]) or "entry")
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{label}: {msg}")
    return "; ".join(parts)
