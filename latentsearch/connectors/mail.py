"""What every mail connector shares (IMAP, Maildir, mbox): threads become documents, messages
become their chunks, and the cursor remembers each thread's version.

A run reads the threading headers of every message (the key scan), groups them into threads
(`mail_threads`) and compares each thread's version, a hash of its messages' source keys and of
the settings that shape it, with the one in the cursor. Only new or changed threads are fetched
whole and parsed (`mail_message`); threads no longer there are reported deleted. A reply makes
its thread's version change, so the thread is indexed again with the new message; a deleted
message takes its chunk with it the same way. A source that can tell cheaply that nothing
changed (IMAP: UIDVALIDITY, UIDNEXT and the message count; Maildir: its file names; mbox: size
and mtime) skips the scan altogether.

Settings common to all mail sources: ``acl`` (principals that may read every thread of this
mailbox, e.g. ``["group:support"]``; default: the collection's default), ``part_words`` (longest
chunk, in words, before a message or attachment is split; default 180, what MiniLM reads),
``max_attachment_mb`` (default 20).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from latentsearch.checks import check_principal
from latentsearch.connectors.base import Change, Checkpoint, Connector, Deleted, Failed, Record
from latentsearch.connectors.jsoncursor import read_cursor
from latentsearch.connectors.mail_message import MailMessage, parse_message
from latentsearch.connectors.mail_threads import Envelope, Thread, build_threads
from latentsearch.errors import ConnectorError, SourceConfigError
from latentsearch.ingest.chunking import Chunker, regex_offsets

BATCH = 50  # threads fetched and handed over between checkpoints
_FORMAT = 1


class MailConnector(Connector):
    """Subclasses read one kind of mailbox: `probe`, `envelopes` and `fetch`."""

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        self.acl = _acl(self.settings.get("acl"), name)
        words = self.settings.get("part_words", 180)
        if isinstance(words, bool) or not isinstance(words, int) or words < 16:
            raise SourceConfigError(
                f"source {name!r}: part_words must be an integer of at least 16, not {words!r}"
            )
        mb = self.settings.get("max_attachment_mb", 20)
        if isinstance(mb, bool) or not isinstance(mb, int | float) or mb < 0:
            raise SourceConfigError(
                f"source {name!r}: max_attachment_mb must be a number >= 0, not {mb!r}"
            )
        self.max_attachment = int(mb * 1024 * 1024)
        self.chunker = Chunker(regex_offsets, words, words // 10)
        self._keys: list[str] | None = None
        # Everything besides the messages that shapes a thread's record: a change re-indexes all.
        self._shape = json.dumps([self.acl, words, self.max_attachment, self.uri_base()])

    # -- what a mail source provides ---------------------------------------------------------

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Held around a run (an IMAP connection); nothing by default."""
        return contextlib.nullcontext()

    def probe(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """The source's own cursor part now, and False when it proves nothing changed since
        ``state`` (then no scan is done)."""
        return {}, True

    @abstractmethod
    def envelopes(self) -> list[Envelope]:
        """The threading headers of every message now (the key scan)."""

    @abstractmethod
    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """The whole messages of ``keys`` that still exist."""

    def uri_base(self) -> str:
        """Where the mailbox is (its URIs' prefix): moving it re-indexes every thread. Reads
        ``self.settings`` only, since it is called before a subclass's own ``__init__`` runs on."""
        return ""

    # -- the connector -----------------------------------------------------------------------

    def changes(self, cursor: str | None) -> Iterator[Change]:
        state = _load(cursor, self.name)
        known: dict[str, str] = (
            state.get("threads", {}) if state.get("shape") == self._shape else {}
        )
        with self.session():
            source, changed = self.probe(state.get("source", {}))
            if not changed and known:
                self._keys = sorted(known)
                yield Checkpoint(_dump(source, known, self._shape))
                return
            threads = build_threads(self.envelopes())
            versions = {t.id: self.version(t) for t in threads}
            self._keys = sorted(versions)
            done = {tid: v for tid, v in known.items() if tid in versions}
            for tid in sorted(set(known) - set(versions)):
                yield Deleted(tid)
            todo = [t for t in threads if known.get(t.id) != versions[t.id]]
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                raw = dict(self.fetch([m.key for t in batch for m in t.messages]))
                for t in batch:
                    change = self._record(t, raw, versions[t.id])
                    yield change
                    if isinstance(change, Record):
                        done[t.id] = versions[t.id]  # a failed thread is tried again next run
                yield Checkpoint(_dump(state.get("source", {}), done, self._shape))
            yield Checkpoint(_dump(source, done, self._shape))

    def keys(self) -> Iterable[str] | None:
        """Every thread id now: from this run's scan, else from a scan of its own."""
        if self._keys is None:
            with self.session():
                self._keys = sorted(t.id for t in build_threads(self.envelopes()))
        return list(self._keys)

    def version(self, thread: Thread) -> str:
        payload = json.dumps([self._shape, sorted(m.key for m in thread.messages)])
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def _record(self, thread: Thread, raw: Mapping[str, bytes], version: str) -> Record | Failed:
        messages: list[MailMessage] = []
        seen: set[str] = set()
        for env in thread.messages:
            data = raw.get(env.key)
            if (
                data is None or env.message_id in seen
            ):  # gone since the scan; a copy in another folder
                continue
            seen.add(env.message_id)
            try:
                messages.append(parse_message(data, env, self.max_attachment))
            except Exception as exc:  # a message the email package cannot read: its thread only
                return Failed(thread.id, f"unreadable message {env.uri or env.key}: {exc}")
        if not messages:
            return Failed(
                thread.id,
                "its messages disappeared while the run read them; it is retried next run",
            )
        return thread_record(thread.id, version, messages, self.acl, self.chunker)


def thread_record(
    tid: str, version: str, messages: Sequence[MailMessage], acl: list[str] | None, chunker: Chunker
) -> Record:
    """The record of a thread: one part per message (split when long), then its attachments'."""
    first = messages[0]
    parts: list[str] = []
    for m in messages:
        head = f"From: {m.sender_line or '(unknown sender)'}" + (
            f" · {m.date:%Y-%m-%d %H:%M %Z}" if m.date else ""
        )
        parts.extend(_split(f"{head}\n\n{m.body}", chunker))
    for m in messages:
        for a in m.attachments:
            parts.extend(
                _split(
                    f"Attachment {a.name} (from {m.sender_line or 'unknown'})\n\n{a.text}", chunker
                )
            )
    subject = first.envelope.subject.strip() or "(no subject)"
    metadata: dict[str, Any] = {
        "subject": subject,
        "from": _unique(a for m in messages for a in m.sender),
        "to": _unique(a for m in messages for a in m.recipients),
        "date": first.date.isoformat() if first.date else None,
        "last_date": messages[-1].date.isoformat() if messages[-1].date else None,
        "messages": len(messages),
        "message_ids": [m.envelope.message_id for m in messages],
        "uris": [m.envelope.uri for m in messages],
        "folders": _unique(m.envelope.folder for m in messages if m.envelope.folder),
        "attachments": [a.name for m in messages for a in m.attachments],
    }
    skipped = [s for m in messages for s in m.skipped]
    if skipped:
        metadata["skipped_attachments"] = skipped
    return Record(
        id=tid,
        version=version,
        text="\n\n".join(parts),
        title=subject,
        uri=first.envelope.uri,
        metadata=metadata,
        acl=list(acl) if acl is not None else None,
        parts=parts,
    )


def _split(text: str, chunker: Chunker) -> list[str]:
    return [text[s.start : s.end] for s in chunker.split(text)] or [text]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _acl(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise SourceConfigError(
            f'source {name!r}: acl must be a non-empty list of principals, e.g. acl = ["group:support"], not {value!r}'
        )
    return [
        check_principal(p, f"source {name!r}: acl entries must be non-empty strings", "acl")
        for p in value
    ]


def _load(cursor: str | None, name: str) -> dict[str, Any]:
    state = read_cursor(cursor, "format", "mail")
    if state and state["format"] != _FORMAT:
        raise ConnectorError(
            f"source {name!r}: its stored cursor is an older mail cursor; give the source a new "
            "name to read the mailbox again"
        )
    return state


def _dump(source: Mapping[str, Any], threads: Mapping[str, str], shape: str) -> str:
    return json.dumps(
        {
            "format": _FORMAT,
            "source": dict(source),
            "shape": shape,
            "threads": dict(sorted(threads.items())),
        },
        separators=(",", ":"),
    )
