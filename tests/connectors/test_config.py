"""sources.toml: typed errors for literal secrets, unknown types, bad schedules; credentials
from the environment and from a secrets file; schedules; the registry's missing-extra error."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from latentsearch.connectors import registry
from latentsearch.connectors.config import load_sources, parse_sources
from latentsearch.connectors.schedule import parse_schedule
from latentsearch.errors import LiteralSecretError, MissingExtraError, SourceConfigError

OK = """
[[source]]
name = "crm"
type = "sql"
collection = "company"
schedule = "15m"
[source.permissions]
map = { "Support" = "group:support" }
default = ["group:staff"]
[source.settings]
url = "postgresql+psycopg://reader@db.internal/crm"
password_env = "CRM_PASSWORD"
table = "tickets"
"""


def test_a_good_file_and_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    src = parse_sources(OK).get("crm")
    assert (src.type, src.collection, src.when.every) == ("sql", "company", timedelta(minutes=15))
    assert "password_env" not in src.connector_settings()
    with pytest.raises(SourceConfigError, match="CRM_PASSWORD"):
        src.secrets()
    monkeypatch.setenv("CRM_PASSWORD", "s3cret")
    assert src.secrets() == {"password": "s3cret"}


def test_secrets_file_relative_to_the_sources_file(tmp_path: Path) -> None:
    (tmp_path / "crm.secrets.toml").write_text('password = "from-file"\n')
    conf = OK.replace('password_env = "CRM_PASSWORD"', 'secrets_file = "crm.secrets.toml"')
    (tmp_path / "sources.toml").write_text(conf)
    src = load_sources(tmp_path / "sources.toml").get("crm")
    assert src.secrets(tmp_path) == {"password": "from-file"}


@pytest.mark.parametrize(
    "line",
    [
        'password = "hunter2"',
        'api_token = "abc"',
        'url2 = "postgresql://reader:hunter2@db/crm"',
        'nested = { client_secret = "x" }',
    ],
)
def test_a_literal_secret_is_refused(line: str) -> None:
    with pytest.raises(LiteralSecretError, match=r"environment variable|password_env"):
        parse_sources(OK + line + "\n")


def test_unknown_type_bad_schedule_and_bad_fields() -> None:
    with pytest.raises(SourceConfigError, match="unknown source type 'ftp'"):
        parse_sources(OK.replace('type = "sql"', 'type = "ftp"'))
    with pytest.raises(SourceConfigError, match="source 'crm': schedule"):
        parse_sources(OK.replace('"15m"', '"every tuesday"'))
    with pytest.raises(SourceConfigError, match="minute"):
        parse_sources(OK.replace('"15m"', '"61 * * * *"'))
    with pytest.raises(SourceConfigError, match="colour"):
        parse_sources(OK.replace('collection = "company"', 'colour = "red"'))
    with pytest.raises(SourceConfigError, match="unique"):
        parse_sources(OK + OK.split("[source.permissions]")[0])
    with pytest.raises(SourceConfigError, match="not valid TOML"):
        parse_sources("[[source]\n")
    with pytest.raises(SourceConfigError, match="map"):
        parse_sources(OK.replace('"group:support"', '""'))


def test_schedules() -> None:
    t = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)  # a Monday
    assert parse_schedule("1h").is_due(None, t)
    assert not parse_schedule("1h").is_due(t, t + timedelta(minutes=59))
    assert parse_schedule("1h").is_due(t, t + timedelta(minutes=60))
    assert parse_schedule("@daily").next_run(t) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert parse_schedule("*/15 * * * *").next_run(t) == t.replace(minute=15)
    assert parse_schedule("30 2 * * 6").next_run(t) == datetime(2026, 3, 7, 2, 30, tzinfo=UTC)
    assert parse_schedule("0 9 1 * *").next_run(t) == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(SourceConfigError, match="never matches"):
        parse_schedule("0 0 31 2 *")


def test_a_missing_optional_library_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_missing_lib.py").write_text("import latentsearch_no_such_library\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(
        registry.BUILTIN, "exotic", registry.Builtin("needs_missing_lib", "X", "exotic")
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'latentsearch\[exotic\]'"):
        registry.connector_class("exotic")
    sys.modules.pop("needs_missing_lib", None)
    assert registry.connector_class("sql").type == "sql"
    with pytest.raises(SourceConfigError, match="does not name a Connector subclass"):
        registry.connector_class("pathlib:Path")


def test_directory_tables_may_share_the_file(tmp_path: Path) -> None:
    """One file can hold the sources and the directory: each side reads its own tables."""
    from latentsearch.directory import sources_from_toml

    (tmp_path / "groups.csv").write_text("user,group\nalice,support\n")
    path = tmp_path / "sources.toml"
    path.write_text(
        OK + '\n[[directory]]\nname = "team"\ntype = "groups-file"\npath = "groups.csv"\n'
    )
    assert [s.name for s in load_sources(path).sources] == ["crm"]
    assert [d.name for d in sources_from_toml(path)] == ["team"]
    with pytest.raises(SourceConfigError, match="directorie"):
        parse_sources(OK + "\n[[directories]]\nname = 'x'\n")  # a misspelt table is still refused
