"""One email message, parsed with the stdlib `email` package (policy ``default``): its senders,
recipients, date and ids, its body as plain text with the quoted history trimmed, and the text of
its attachments, which go through the ingest loaders (PDF, HTML, text) like files in a folder."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import PurePath

from latentsearch.connectors.mail_threads import Envelope, clean, header_date
from latentsearch.ingest.documents import LoadError
from latentsearch.ingest.loaders import BYTE_KINDS, load_bytes
from latentsearch.ingest.sources import KINDS

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Lines after which a client's quoted copy of the previous message starts (Outlook, Apple Mail).
_QUOTE_STARTS = ("-----original message-----", "-----ursprüngliche nachricht-----")
_ATTRIBUTION_ENDS = ("wrote:", "schrieb:", "a écrit :", "a écrit:", "escribió:", "skrev:")


@dataclass(slots=True)
class Attachment:
    name: str
    text: str


@dataclass(slots=True)
class MailMessage:
    envelope: Envelope
    sender: list[str]  # addresses
    sender_line: str  # "Ann Lee <ann@example.com>"
    recipients: list[str]
    date: datetime | None
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # attachments not indexed, and why


def parse_message(
    raw: bytes, envelope: Envelope, max_attachment: int = MAX_ATTACHMENT_BYTES
) -> MailMessage:
    """Parse ``raw`` (the full RFC 5322 message). Never raises on odd mail: what cannot be read is
    left out, and attachments that cannot be read are listed in ``skipped``."""
    msg = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return read_message(msg, envelope, max_attachment)


def read_message(msg: EmailMessage, envelope: Envelope, max_attachment: int) -> MailMessage:
    senders, sender_line = _addresses(msg, ("From",))
    recipients, _ = _addresses(msg, ("To", "Cc"))
    out = MailMessage(
        envelope=envelope,
        sender=senders,
        sender_line=sender_line,
        recipients=recipients,
        date=header_date(msg),
        body=trim_quotes(_body_text(msg)),
    )
    for part in msg.iter_attachments():
        assert isinstance(part, EmailMessage)
        _attach(out, part, max_attachment)
    return out


def _addresses(msg: EmailMessage, names: tuple[str, ...]) -> tuple[list[str], str]:
    found: list[str] = []
    shown: list[str] = []
    for name in names:
        try:
            header = msg.get(name)
            addrs = getattr(header, "addresses", ()) if header is not None else ()
        except Exception:  # an unparseable address header counts as absent
            continue
        for a in addrs:
            spec = clean(a.addr_spec).strip()
            if spec and spec not in found:
                found.append(spec)
                shown.append(clean(str(a)))
    return found, ", ".join(shown)


def _body_text(msg: EmailMessage) -> str:
    # Plain text first; the HTML alternative when the plain one is missing or blank.
    for kind in ("plain", "html"):
        body = msg.get_body(preferencelist=(kind,))
        if isinstance(body, EmailMessage) and (text := _part_text(body)).strip():
            return text
    return ""


def _part_text(body: EmailMessage) -> str:
    try:
        content = body.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = body.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if body.get_content_subtype() == "html":
        if "<body" not in content.lower():  # a bare fragment, as many mailers send: make it a page
            content = f"<html><body>{content}</body></html>"
        try:
            return convert(content.encode("utf-8"), "message.html")
        except LoadError:
            return ""
    return clean(content)


def _attach(out: MailMessage, part: EmailMessage, limit: int) -> None:
    name = clean(part.get_filename() or "")
    ctype = part.get_content_type()
    if ctype == "message/rfc822":  # a forwarded message: index its body
        inner = part.get_content()
        if isinstance(inner, EmailMessage):
            text = trim_quotes(_body_text(inner))
            subject = clean(str(inner.get("Subject") or ""))
            if text.strip():
                out.attachments.append(Attachment(name or subject or "forwarded message", text))
        return
    if not name:
        name = "attachment" + (mimetypes.guess_extension(ctype) or "")
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        out.skipped.append({"name": name, "reason": "no readable content"})
        return
    if len(data) > limit:
        out.skipped.append(
            {"name": name, "reason": f"too large: {len(data)} bytes (limit {limit})"}
        )
        return
    suffix = PurePath(name).suffix.lower()
    if KINDS.get(suffix) not in BYTE_KINDS:
        suffix = mimetypes.guess_extension(ctype) or ""
    try:
        text = convert(data, name if PurePath(name).suffix.lower() == suffix else name + suffix)
    except LoadError as exc:
        log.warning("attachment %r of %s not indexed: %s", name, out.envelope.uri, exc.reason)
        out.skipped.append({"name": name, "reason": exc.reason})
        return
    out.attachments.append(Attachment(name, text))


def convert(data: bytes, filename: str) -> str:
    """Text of a file's bytes by the ingest loader its suffix selects; `LoadError` if none
    reads it."""
    return clean(load_bytes(data, filename).text or "")


def trim_quotes(text: str) -> str:
    """The message's own words: quoted lines (``>``), the "On ... wrote:" line above them, an
    Outlook-style original-message block and the signature (after ``-- ``) go. A message that is
    nothing but a quote is kept whole."""
    kept: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if s.casefold() in _QUOTE_STARTS or line == "-- ":
            break
        if s.startswith(">"):
            while kept and not kept[-1].strip():
                kept.pop()
            if kept and kept[-1].strip().casefold().endswith(_ATTRIBUTION_ENDS):
                kept.pop()
            continue
        kept.append(line.rstrip())
    trimmed = "\n".join(kept).strip()
    return trimmed if trimmed else text.strip()
