"""Threading: which messages of a mailbox belong together (one thread = one indexed document).

Messages are linked by their ``References`` and ``In-Reply-To`` headers (the message ids they
answer), as every mail client writes them. A reply that carries neither but whose subject is a
reply (``Re: ...``) joins the latest thread started earlier with the same normalised subject;
two unrelated messages that merely share a subject ("Help") stay apart.

A thread's id is its root's message id, taken from the earliest message's first reference, so
it stays the same when replies arrive and when the first message is deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

from latentsearch.checks import text_problem

# Reply and forward markers of common clients and languages (Re, Fwd, German AW/WG, Nordic SV/VS).
_PREFIXES = ("re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "rif", "tr")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
THREAD_HEADERS = ("Message-ID", "In-Reply-To", "References", "Subject", "Date")


@dataclass(slots=True)
class Envelope:
    """What threading needs of one message, read from its headers alone.

    ``key`` identifies the message at the source and is stable while the message exists there
    (an IMAP folder, UIDVALIDITY and UID; a Maildir key; an mbox message's hash).
    """

    key: str
    message_id: str
    references: list[str]
    subject: str
    date: datetime | None
    uri: str
    folder: str = ""

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.date or _EPOCH, self.key)


@dataclass(slots=True)
class Thread:
    id: str
    messages: list[Envelope] = field(default_factory=list)  # oldest first


def clean(value: str) -> str:
    """Text that can be stored: undecodable bytes (surrogate escapes) become U+FFFD, NULs go."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\0", "")


def message_ids(value: object) -> list[str]:
    """The ``<...>`` message ids of a header value, in order, without angle brackets."""
    text = clean(str(value or ""))
    out: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        end = text.find(">", start + 1)
        if end < 0:
            break
        mid = "".join(text[start + 1 : end].split())
        if mid and mid not in out:
            out.append(mid)
        pos = end + 1
    if not out and text.strip() and "<" not in text:
        out.append("".join(text.split()))  # a bare id, as some mailers write one
    return out


def is_reply(subject: str) -> bool:
    return normalise_subject(subject) != _strip_space(subject).casefold()


def normalise_subject(subject: str) -> str:
    """The subject without its reply/forward markers, case-folded: "RE: Fwd: VPN" -> "vpn"."""
    s = _strip_space(subject)
    while True:
        head, sep, rest = s.partition(":")
        word = head.strip().casefold()
        # "Re[2]:" and "Re(2):" are numbered replies.
        base = word.split("[", 1)[0].split("(", 1)[0].strip()
        if not sep or base not in _PREFIXES or len(word) > len(base) + 4:
            return s.casefold()
        s = rest.strip()


def _strip_space(text: str) -> str:
    return " ".join(text.split())


def read_envelope(
    header_bytes: bytes, key: str, uri: str, folder: str = "", parsed: EmailMessage | None = None
) -> Envelope:
    """An envelope from a message's header block (or a message already parsed)."""
    msg = parsed
    if msg is None:
        got = BytesHeaderParser(policy=default_policy).parsebytes(header_bytes)
        assert isinstance(got, EmailMessage)
        msg = got
    # Message ids are ASCII tokens: read from the raw values, without building header objects
    # (the key scan reads every message's headers; they would cost half its time).
    raw: dict[str, str] = {}
    for name, value in msg.raw_items():
        raw.setdefault(name.lower(), str(value))
    ids = message_ids(raw.get("message-id"))
    mid = ids[0] if ids else f"{_digest(key)}@latentsearch.invalid"  # stable while the message is
    refs = [r for r in message_ids(raw.get("references")) if r != mid]
    for r in message_ids(raw.get("in-reply-to")):
        if r != mid and r not in refs:
            refs.append(r)
    return Envelope(
        key=key,
        message_id=mid,
        references=refs,
        subject=clean(_header(msg, "Subject")),
        date=header_date(msg),
        uri=uri,
        folder=folder,
    )


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot make sense of counts as absent
        return ""
    return "" if value is None else str(value)


def header_date(msg: EmailMessage) -> datetime | None:
    """The Date header's time (UTC when it names no zone), None when absent or unreadable."""
    value = next((str(v) for k, v in msg.raw_items() if k.lower() == "date"), None)
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(" ".join(value.split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def thread_record_id(mid: str) -> str:
    """A record id for a thread rooted at ``mid``: the id itself when it is plain, short text."""
    if mid and len(mid) <= 200 and text_problem(mid) is None and mid.isprintable():
        return mid
    return f"thread-{_digest(mid)}"


class _Links:
    """Union-find over message ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # deterministic whatever the input order


def build_threads(envelopes: Iterable[Envelope]) -> list[Thread]:
    """Group messages into threads (see the module docstring), each oldest first."""
    envs = sorted(envelopes, key=lambda e: e.sort_key)
    links = _Links()
    for e in envs:
        links.find(e.message_id)
        for r in e.references:
            links.union(e.message_id, r)
    _join_by_subject(envs, links)
    groups: dict[str, list[Envelope]] = {}
    for e in envs:
        groups.setdefault(links.find(e.message_id), []).append(e)
    threads: dict[str, Thread] = {}
    for members in groups.values():
        first = members[0]
        root = first.references[0] if first.references else first.message_id
        tid = thread_record_id(root)
        while tid in threads:  # two threads claiming one root (a broken client): keep both
            tid = f"{tid}~{_digest(first.key)[:8]}"
        threads[tid] = Thread(id=tid, messages=members)
    return sorted(threads.values(), key=lambda t: t.messages[0].sort_key)


def _join_by_subject(envs: Sequence[Envelope], links: _Links) -> None:
    starters: dict[str, list[Envelope]] = {}
    for e in envs:
        if not e.references and not is_reply(e.subject) and e.subject.strip():
            starters.setdefault(normalise_subject(e.subject), []).append(e)
    for e in envs:
        if e.references or not is_reply(e.subject):
            continue
        earlier = [
            s for s in starters.get(normalise_subject(e.subject), []) if s.sort_key <= e.sort_key
        ]
        if earlier:
            links.union(e.message_id, earlier[-1].message_id)
