"""IMAP mailboxes (a shared support inbox and its folders) through `imapclient`.

Settings (a ``[[source]]`` of ``type = "imap"``)::

    host = "imap.example.com"
    port = 993                      # default: 993 with ssl, else 143
    ssl = true                      # TLS from the start (default); or starttls = true on 143
    ca_file = "/etc/ssl/private-ca.pem"  # optional: trust this CA too (a company CA)
    username = "support@example.com"
    password_env = "SUPPORT_IMAP_PASSWORD"   # the password is read from this variable only
    folders = ["INBOX", "Sent"]     # default ["INBOX"]; threads span folders
    acl = ["group:support"]

Each message is known by its folder, the folder's UIDVALIDITY and its UID. The cursor keeps, per
folder, UIDVALIDITY, UIDNEXT (one past the last UID) and the message count: when none moved, a
run costs one STATUS per folder. Otherwise the threading headers of every UID are read (the key
scan, ``BODY.PEEK`` so nothing is marked read) and only new or changed threads are fetched whole.
A new UIDVALIDITY (the server renumbered the folder) re-reads that folder's threads.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from latentsearch.connectors.mail import MailConnector
from latentsearch.connectors.mail_threads import THREAD_HEADERS, Envelope, read_envelope
from latentsearch.errors import ConnectorError, LiteralSecretError, SourceConfigError

_HEADERS = (
    "BODY.PEEK[HEADER.FIELDS (" + " ".join(h.upper() for h in THREAD_HEADERS) + ")]"
).encode()
_SCAN_BATCH = 500
_FETCH_BATCH = 50


class ImapConnector(MailConnector):
    type = "imap"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        s = self.settings
        if s.get("password"):
            raise LiteralSecretError(
                f"source {name!r}: never put the password in sources.toml; set password_env to the "
                "name of an environment variable that holds it (or use a secrets_file)"
            )
        self.host = _text(s, "host", name)
        self.username = _text(s, "username", name)
        # `latentsearch sync` resolves password_env (or secrets_file) into secrets["password"];
        # a connector built by hand may name the variable itself.
        self.password_env = str(s.get("password_env") or "")
        self.ssl = bool(s.get("ssl", True))
        self.starttls = bool(s.get("starttls", False))
        port = s.get("port", 993 if self.ssl else 143)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SourceConfigError(
                f"source {name!r}: port must be an integer from 1 to 65535, not {port!r}"
            )
        self.port = port
        folders = s.get("folders", ["INBOX"])
        if (
            not isinstance(folders, list)
            or not folders
            or not all(isinstance(f, str) and f for f in folders)
        ):
            raise SourceConfigError(
                f'source {name!r}: folders must be a list of folder names, e.g. ["INBOX"]'
            )
        self.folders: list[str] = list(dict.fromkeys(folders))
        self.timeout = float(s.get("timeout", 60))
        ca_file = s.get("ca_file")
        if ca_file is not None and (not isinstance(ca_file, str) or not ca_file.strip()):
            raise SourceConfigError(f"source {name!r}: ca_file must be the path of a PEM file")
        self.ca_file: str | None = ca_file
        self._client: Any = None

    def uri_base(self) -> str:
        host = str(self.settings.get("host", ""))
        port = self.settings.get("port")
        return f"imap://{host}" + (f":{port}" if port not in (None, 993, 143) else "")

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates and host names are always checked: the system's CAs, plus ``ca_file``."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SourceConfigError(
                f"source {self.name!r}: cannot read ca_file {self.ca_file}: {exc}"
            ) from exc

    def _password(self) -> str:
        value = self.secrets.get("password")
        if not value and self.password_env:
            value = os.environ.get(self.password_env)
            if not value:
                raise SourceConfigError(
                    f"source {self.name!r}: the environment variable {self.password_env} "
                    "(password_env) is not set; export it before running latentsearch sync"
                )
        if not value:
            raise SourceConfigError(
                f'source {self.name!r}: no IMAP password: set password_env = "VARIABLE" in its '
                "settings (or password in its secrets_file)"
            )
        return value

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError

        password = self._password()
        try:
            context = self._tls_context()
            client = IMAPClient(
                self.host, port=self.port, ssl=self.ssl, ssl_context=context, timeout=self.timeout
            )
        except ssl.SSLError as exc:
            raise ConnectorError(
                f"source {self.name!r}: TLS with {self.host}:{self.port} failed: {exc}; if the "
                "server's certificate comes from a private CA, name its PEM file in ca_file"
            ) from exc
        except OSError as exc:
            raise ConnectorError(
                f"source {self.name!r}: cannot reach IMAP server {self.host}:{self.port}: {exc}"
            ) from exc
        try:
            if self.starttls:
                client.starttls(context)
            client.login(self.username, password)
        except (IMAPClientError, OSError) as exc:  # STARTTLS refused or failed, bad password
            with contextlib.suppress(Exception):
                client.shutdown()
            if isinstance(exc, ssl.SSLError):
                raise ConnectorError(
                    f"source {self.name!r}: STARTTLS with {self.host}:{self.port} failed: {exc}; "
                    "if the server's certificate comes from a private CA, name its PEM file in ca_file"
                ) from exc
            raise ConnectorError(
                f"source {self.name!r}: IMAP login as {self.username} at {self.host} failed: {exc}"
            ) from exc
        self._client = client
        try:
            yield
        finally:
            self._client = None
            with contextlib.suppress(Exception):
                client.logout()

    def probe(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        from imapclient.exceptions import IMAPClientError

        now: dict[str, Any] = {}
        for folder in self.folders:
            try:
                st = self._client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"])
            except IMAPClientError as exc:
                raise ConnectorError(
                    f"source {self.name!r}: cannot read IMAP folder {folder!r} of {self.username}: {exc}"
                ) from exc
            now[folder] = {
                "uidvalidity": int(st[b"UIDVALIDITY"]),
                "uidnext": int(st[b"UIDNEXT"]),
                "messages": int(st[b"MESSAGES"]),
            }
        return {"folders": now}, state.get("folders") != now

    def _select(self, folder: str) -> int:
        info = self._client.select_folder(folder, readonly=True)
        return int(info[b"UIDVALIDITY"])

    def envelopes(self) -> list[Envelope]:
        out: list[Envelope] = []
        for folder in self.folders:
            validity = self._select(folder)
            uids = sorted(self._client.search("ALL"))
            for start in range(0, len(uids), _SCAN_BATCH):
                got = self._client.fetch(uids[start : start + _SCAN_BATCH], [_HEADERS])
                for uid, data in got.items():
                    header = next((v for k, v in data.items() if k.startswith(b"BODY[")), b"")
                    key = f"{validity}/{uid}/{folder}"
                    out.append(
                        read_envelope(header or b"", key, self.uri(folder, validity, uid), folder)
                    )
        return out

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        wanted: dict[str, dict[int, set[int]]] = {}
        for key in keys:
            v, u, folder = key.split("/", 2)
            wanted.setdefault(folder, {}).setdefault(int(v), set()).add(int(u))
        for folder, by_validity in wanted.items():
            validity = self._select(folder)
            uids = sorted(by_validity.get(validity, set()))  # others were renumbered since the scan
            for start in range(0, len(uids), _FETCH_BATCH):
                got = self._client.fetch(uids[start : start + _FETCH_BATCH], [b"BODY.PEEK[]"])
                for uid, data in got.items():
                    body = data.get(b"BODY[]")
                    if isinstance(body, bytes):
                        yield f"{validity}/{uid}/{folder}", body

    def uri(self, folder: str, validity: int, uid: int) -> str:
        """An RFC 5092 IMAP URL of one message."""
        return f"{self.uri_base()}/{quote(folder, safe='')};UIDVALIDITY={validity}/;UID={uid}"


def _text(settings: Mapping[str, Any], key: str, name: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SourceConfigError(f"source {name!r}: {key} is required (a non-empty string)")
    return value
