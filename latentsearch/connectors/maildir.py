"""Mail kept in files, read with the stdlib `mailbox` module: Maildir folders and mbox files.

Maildir (``type = "maildir"``)::

    path = "/var/mail/support/Maildir"
    folders = ["", "Sent"]      # "" is the top folder (INBOX); others are Maildir++ subfolders
    acl = ["group:support"]

mbox (``type = "mbox"``)::

    path = "/srv/archive/support.mbox"
    acl = ["group:support"]

A Maildir message is known by its key (the file name without its flags, stable while the file
exists); a run whose folders list the same keys as last time stops there. An mbox file is one
file: unchanged size and mtime stop a run, otherwise every message is read again, and a message
is known by a hash of its bytes (mbox messages have no other lasting name).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mailbox
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from latentsearch.connectors.mail import MailConnector
from latentsearch.connectors.mail_threads import Envelope, read_envelope
from latentsearch.errors import ConnectorError, SourceConfigError


def _path(settings: Mapping[str, Any], name: str) -> Path:
    value = settings.get("path")
    if not isinstance(value, str) or not value.strip():
        raise SourceConfigError(f"source {name!r}: path is required (the mailbox's path)")
    return Path(value).expanduser().absolute()


def _headers(fp: IO[bytes] | Iterable[bytes]) -> bytes:
    """The header block of a message file: the lines up to the first empty one."""
    lines: list[bytes] = []
    for line in fp:
        if line in (b"\n", b"\r\n"):
            break
        lines.append(line)
    return b"".join(lines)


class MaildirConnector(MailConnector):
    type = "maildir"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        self.path = _path(self.settings, name)
        folders = self.settings.get("folders", [""])
        if (
            not isinstance(folders, list)
            or not folders
            or not all(isinstance(f, str) for f in folders)
        ):
            raise SourceConfigError(
                f'source {name!r}: folders must be a list of Maildir folder names ("" is the top one)'
            )
        self.folders: list[str] = list(dict.fromkeys(folders))

    def uri_base(self) -> str:
        return f"maildir:{_path(self.settings, self.name)}"

    def _boxes(self) -> Iterator[tuple[str, mailbox.Maildir]]:
        if not (self.path / "cur").is_dir():
            raise ConnectorError(
                f"source {self.name!r}: {self.path} is not a Maildir (it has no cur/ folder)"
            )
        top = mailbox.Maildir(self.path, factory=None, create=False)
        for folder in self.folders:
            try:
                yield folder, (top.get_folder(folder) if folder else top)
            except mailbox.NoSuchMailboxError as exc:
                raise ConnectorError(
                    f"source {self.name!r}: Maildir folder {folder!r} not found in {self.path}"
                ) from exc

    def probe(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        keys = sorted(f"{key}/{folder}" for folder, box in self._boxes() for key in box.iterkeys())
        digest = hashlib.sha256("\n".join(keys).encode("utf-8", "surrogatepass")).hexdigest()
        return {"keys": digest, "messages": len(keys)}, state.get("keys") != digest

    def envelopes(self) -> list[Envelope]:
        out: list[Envelope] = []
        for folder, box in self._boxes():
            where = self.path / f".{folder}" if folder else self.path  # Maildir++ layout
            for key in box.iterkeys():
                try:
                    with box.get_file(key) as fp:
                        header = _headers(fp)
                except (KeyError, FileNotFoundError):
                    continue  # delivered elsewhere or deleted since the listing
                env = read_envelope(header, f"{key}/{folder}", "", folder)
                env.uri = f"maildir:{where}#{env.message_id}"
                out.append(env)
        return out

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        boxes = dict(self._boxes())
        for k in keys:
            key, folder = k.split("/", 1)
            with contextlib.suppress(KeyError, FileNotFoundError):
                yield k, boxes[folder].get_bytes(key)


class MboxConnector(MailConnector):
    type = "mbox"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        self.path = _path(self.settings, name)
        self._where: dict[str, str] = {}  # a message's hash key -> its key in the open mbox
        self._box: mailbox.mbox | None = None

    def uri_base(self) -> str:
        return f"mbox:{_path(self.settings, self.name)}"

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        if not self.path.is_file():
            raise ConnectorError(f"source {self.name!r}: {self.path} is not an mbox file")
        self._box = mailbox.mbox(self.path, factory=None, create=False)
        try:
            yield
        finally:
            self._box.close()
            self._box, self._where = None, {}

    def probe(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        st = self.path.stat()
        now = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        return now, state != now

    def envelopes(self) -> list[Envelope]:
        assert self._box is not None
        out: list[Envelope] = []
        seen: dict[str, int] = {}
        for key in self._box.iterkeys():
            raw = self._box.get_bytes(key)
            digest = hashlib.sha256(raw).hexdigest()[:32]
            n = seen[digest] = seen.get(digest, 0) + 1
            hkey = digest if n == 1 else f"{digest}-{n}"  # the same message twice stays twice
            self._where[hkey] = key
            env = read_envelope(_headers(io.BytesIO(raw)), hkey, "")
            env.uri = f"mbox:{self.path}#{env.message_id}"
            out.append(env)
        return out

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        assert self._box is not None
        for k in keys:
            if k in self._where:
                raw = self._box.get_bytes(self._where[k])
                if (
                    hashlib.sha256(raw).hexdigest()[:32] == k.split("-", 1)[0]
                ):  # the file may have changed
                    yield k, raw
