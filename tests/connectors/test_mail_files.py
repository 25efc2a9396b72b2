"""The Maildir and mbox connectors on real mailbox files (written with the stdlib `mailbox`)."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from corpus import make_pdf
from mailkit import message

from latentsearch.connectors.base import Checkpoint, Connector, Deleted, Record
from latentsearch.connectors.maildir import MaildirConnector, MboxConnector
from latentsearch.errors import ConnectorError, SourceConfigError


def run(conn: Connector, cursor: str | None) -> tuple[list[Record], list[str], str]:
    records, deleted, last = [], [], None
    for change in conn.changes(cursor):
        if isinstance(change, Record):
            records.append(change)
        elif isinstance(change, Deleted):
            deleted.append(change.id)
        elif isinstance(change, Checkpoint):
            last = change.cursor
        else:
            raise AssertionError(f"unexpected {change!r}")
    assert last is not None
    return records, deleted, last


QUESTION = message("m1@a.example", "Printer offline", "The printer on floor 2 is offline.")
ANSWER = message(
    "m2@example.com",
    "Re: Printer offline",
    "Power-cycle it and re-add the queue.\n\n> The printer on floor 2 is offline.",
    sender="Bob <bob@example.com>",
    minutes=10,
    reply_to=["m1@a.example"],
)
HTML_ONLY = message(
    "h1@b.example",
    "Badge access",
    "",
    html="<html><body><p>My badge no longer opens the lab door since the reorganisation.</p></body></html>",
    minutes=20,
)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path, create=True)
    box.add(QUESTION)
    box.add_folder("Sent").add(ANSWER)
    box.add(HTML_ONLY)
    return path


def maildir_source(path: Path, **extra: object) -> MaildirConnector:
    settings = {"path": str(path), "folders": ["", "Sent"], "acl": ["group:it"], **extra}
    return MaildirConnector("it-mail", settings, {})


def test_maildir_threads_folders_and_html_bodies(maildir: Path) -> None:
    records, deleted, _ = run(maildir_source(maildir), None)
    got = {r.id: r for r in records}
    assert set(got) == {"m1@a.example", "h1@b.example"} and deleted == []
    printer = got["m1@a.example"]
    assert printer.parts is not None and len(printer.parts) == 2
    assert "Power-cycle" in printer.parts[1] and "floor 2" not in printer.parts[1]
    assert printer.uri == f"maildir:{maildir}#m1@a.example"
    assert printer.metadata["uris"][1] == f"maildir:{maildir / '.Sent'}#m2@example.com"
    assert printer.acl == ["group:it"] and printer.title == "Printer offline"
    badge = got["h1@b.example"]
    assert badge.parts is not None and "opens the lab door" in badge.parts[0]
    assert "<p>" not in badge.parts[0]


def test_maildir_incremental_reply_flags_and_deletes(maildir: Path) -> None:
    _, _, cursor = run(maildir_source(maildir), None)
    box = mailbox.Maildir(maildir, create=False)
    # Reading a message moves it from new/ to cur/ and sets flags: not a change.
    for key in list(box.iterkeys()):
        msg = box[key]
        msg.set_subdir("cur")
        msg.add_flag("S")
        box[key] = msg
    # box[key] = msg rewrites the file under the same key; the key set is unchanged.
    assert run(maildir_source(maildir), cursor)[:2] == ([], [])

    reply = message(
        "m3@a.example",
        "Re: Printer offline",
        "Works again, thank you.",
        minutes=30,
        reply_to=["m1@a.example", "m2@example.com"],
    )
    box.add(reply)
    records, deleted, cursor = run(maildir_source(maildir), cursor)
    assert [r.id for r in records] == ["m1@a.example"] and deleted == []
    assert records[0].parts is not None and len(records[0].parts) == 3

    sent = box.get_folder("Sent")
    for key in list(sent.iterkeys()):
        sent.remove(key)
    records, deleted, cursor = run(maildir_source(maildir), cursor)
    assert [r.id for r in records] == ["m1@a.example"]
    assert not any("Power-cycle" in p for p in records[0].parts or [])

    for key, msg in list(box.items()):
        if msg["Message-ID"] == "<h1@b.example>":
            box.remove(key)
    records, deleted, cursor = run(maildir_source(maildir), cursor)
    assert records == [] and deleted == ["h1@b.example"]
    assert list(maildir_source(maildir).keys() or []) == ["m1@a.example"]


def test_settings_that_change_records_reindex_everything(maildir: Path) -> None:
    _, _, cursor = run(maildir_source(maildir), None)
    records, _, _ = run(maildir_source(maildir, acl=["group:it", "user:lee"]), cursor)
    assert len(records) == 2 and all(r.acl == ["group:it", "user:lee"] for r in records)


def test_maildir_errors(tmp_path: Path, maildir: Path) -> None:
    with pytest.raises(ConnectorError, match="not a Maildir"):
        list(maildir_source(tmp_path / "nope").changes(None))
    with pytest.raises(ConnectorError, match="folder 'Spam' not found"):
        list(maildir_source(maildir, folders=["Spam"]).changes(None))
    with pytest.raises(SourceConfigError, match="path is required"):
        MaildirConnector("x", {}, {})
    with pytest.raises(SourceConfigError, match="part_words"):
        maildir_source(maildir, part_words=2)
    with pytest.raises(ConnectorError, match="not a mail cursor"):
        list(maildir_source(maildir).changes("garbage"))


def test_mbox_threads_attachments_and_changes(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    pdf = make_pdf(["Error code E42 means the toner is empty."])
    box = mailbox.mbox(path, create=True)
    box.add(
        message(
            "p1@c.example",
            "Error E42",
            "What does E42 mean? Manual page attached.",
            attachments=[
                ("manual.pdf", pdf, "application/pdf"),
                ("log.txt", b"E42 at 10:02\nE42 at 10:05\n", "text/plain"),
                ("photo.bin", b"\x00\x01", "application/octet-stream"),
            ],
        )
    )
    box.add(message("p2@c.example", "Other", "Unrelated question.", minutes=3))
    box.flush()
    conn = MboxConnector("archive", {"path": str(path)}, {})
    records, _, cursor = run(conn, None)
    got = {r.id: r for r in records}
    e42 = got["p1@c.example"]
    assert e42.acl is None  # no acl setting: the collection's default
    assert e42.parts is not None and len(e42.parts) == 3
    assert "toner is empty" in e42.parts[1] and "E42 at 10:05" in e42.parts[2]
    assert e42.metadata["attachments"] == ["manual.pdf", "log.txt"]
    assert e42.metadata["skipped_attachments"][0]["name"] == "photo.bin"
    assert e42.uri == f"mbox:{path}#p1@c.example"

    assert run(MboxConnector("archive", {"path": str(path)}, {}), cursor)[:2] == ([], [])

    box.add(
        message(
            "p3@c.example",
            "Re: Error E42",
            "Replacing the toner fixed it.",
            minutes=9,
            reply_to=["p1@c.example"],
        )
    )
    box.flush()
    records, deleted, cursor = run(MboxConnector("archive", {"path": str(path)}, {}), cursor)
    assert [r.id for r in records] == ["p1@c.example"] and deleted == []

    for key, msg in list(box.items()):
        if msg["Message-ID"] == "<p2@c.example>":
            box.remove(key)
    box.flush()
    records, deleted, _ = run(MboxConnector("archive", {"path": str(path)}, {}), cursor)
    assert records == [] and deleted == ["p2@c.example"]
    box.close()


def test_a_long_message_becomes_several_chunks(tmp_path: Path) -> None:
    path = tmp_path / "long.mbox"
    box = mailbox.mbox(path, create=True)
    body = "\n\n".join(
        f"Paragraph {i}: the backup job failed again on node {i} with a timeout." for i in range(60)
    )
    box.add(message("long@d.example", "Backup failures", body))
    box.flush()
    (rec,), _, _ = run(MboxConnector("m", {"path": str(path), "part_words": 60}, {}), None)
    assert rec.parts is not None and len(rec.parts) > 5
    assert all(len(p.split()) <= 80 for p in rec.parts)
    assert "node 0" in rec.parts[0] and "node 59" in rec.parts[-1]
