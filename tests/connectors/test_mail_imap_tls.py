"""The IMAP connector over TLS (IMAPS and STARTTLS) against a real Dovecot with a self-signed
certificate: trusted through ca_file, refused without it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imapclient import IMAPClient
from mailkit import Dovecot, message, running_dovecot

from latentsearch.connectors.base import Record
from latentsearch.connectors.imap import ImapConnector
from latentsearch.errors import ConnectorError, SourceConfigError


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot(tls=True) as server:
        c = IMAPClient(server.host, port=server.port, ssl=False)
        c.login(server.user, server.password)
        c.append("INBOX", message("tls@x.example", "Encrypted", "Sent over TLS only."))
        c.logout()
        yield server


def source(d: Dovecot, **settings: object) -> ImapConnector:
    base = {"host": d.host, "username": d.user, "ca_file": str(d.ca_file)}
    return ImapConnector("tls", {**base, **settings}, {"password": d.password})


def records(conn: ImapConnector) -> list[str]:
    return [c.id for c in conn.changes(None) if isinstance(c, Record)]


def test_imaps_and_starttls_with_a_trusted_ca(dovecot: Dovecot) -> None:
    assert records(source(dovecot, port=dovecot.tls_port)) == ["tls@x.example"]
    starttls = source(dovecot, port=dovecot.port, ssl=False, starttls=True)
    assert records(starttls) == ["tls@x.example"]


def test_an_untrusted_certificate_is_refused(dovecot: Dovecot) -> None:
    with pytest.raises(ConnectorError, match="ca_file"):
        records(source(dovecot, port=dovecot.tls_port, ca_file=None))
    with pytest.raises(ConnectorError, match=r"STARTTLS .* ca_file"):
        records(source(dovecot, port=dovecot.port, ssl=False, starttls=True, ca_file=None))
    with pytest.raises(SourceConfigError, match="ca_file"):
        records(source(dovecot, port=dovecot.tls_port, ca_file="/nonexistent.pem"))
