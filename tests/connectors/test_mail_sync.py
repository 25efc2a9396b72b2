"""Mail sources end to end: a sources.toml, `sync_source` into a real collection (the bundled text
model), search with principals, and the index following the mailbox (real Dovecot; Maildir)."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus import make_pdf
from imapclient import IMAPClient
from mailkit import Dovecot, message, running_dovecot

import latentsearch as ls
from latentsearch.connectors.config import parse_sources
from latentsearch.connectors.runner import sync_source

ENV = "LS_TEST_SYNC_IMAP_PASSWORD"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ls.Database]:
    db = ls.connect(tmp_path / "idx", device="cpu")
    yield db
    db.close()


def texts(col: ls.Collection, principals: list[str]) -> dict[str, str]:
    """Every item the principals see, by id (a broad search; the collection is small)."""
    hits = col.search("mail message support customer", k=100, principals=principals)
    return {h.id: h.text or "" for h in hits}


def test_imap_source_follows_the_mailbox(
    dovecot: Dovecot, index: ls.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, dovecot.password)
    src = parse_sources(
        f"""
[[source]]
name = "support"
type = "imap"
collection = "mail"
schedule = "5m"

[source.settings]
host = "{dovecot.host}"
port = {dovecot.port}
ssl = false
username = "{dovecot.user}"
password_env = "{ENV}"
folders = ["INBOX", "Sent"]
acl = ["group:support"]
"""
    ).get("support")
    c = IMAPClient(dovecot.host, port=dovecot.port, ssl=False)
    c.login(dovecot.user, dovecot.password)
    if not c.folder_exists("Sent"):
        c.create_folder("Sent")
    pdf = make_pdf(["Invoice 7731: the refund of 49 euros was approved."])
    c.append("INBOX", message("q1@a.example", "VPN drops", "My VPN disconnects every hour."))
    c.append(
        "Sent",
        message(
            "a1@example.com",
            "Re: VPN drops",
            "Update the WireGuard client to 1.0.5.",
            sender="bob@example.com",
            minutes=5,
            reply_to=["q1@a.example"],
        ),
    )
    c.append(
        "INBOX",
        message(
            "r1@b.example",
            "Refund",
            "Where is my refund?",
            minutes=9,
            attachments=[("invoice.pdf", pdf, "application/pdf")],
        ),
    )

    res = sync_source(index, src)
    assert (res.status, res.added, res.failed) == ("done", 2, 0), res.errors
    col = index.collection("mail")
    seen = texts(col, ["group:support"])
    assert set(seen) == {
        "support:q1@a.example#0",
        "support:q1@a.example#1",
        "support:r1@b.example#0",
        "support:r1@b.example#1",
    }
    assert "WireGuard" in seen["support:q1@a.example#1"]
    assert "refund of 49 euros" in seen["support:r1@b.example#1"]  # the PDF attachment
    assert texts(col, ["group:sales"]) == {}  # the mailbox's rule: support only
    hit = col.search("WireGuard client version", k=1, principals=["group:support"])[0]
    assert hit.source.title == "VPN drops" and (hit.source.uri or "").startswith("imap://")
    assert hit.metadata["from"] == ["ann@customer.example", "bob@example.com"]

    res = sync_source(index, src)  # nothing changed
    assert (res.status, res.added, res.updated, res.deleted) == ("done", 0, 0, 0)

    c.append(
        "INBOX",
        message(
            "q2@a.example",
            "Re: VPN drops",
            "The update fixed it.",
            minutes=20,
            reply_to=["q1@a.example", "a1@example.com"],
        ),
    )
    res = sync_source(index, src)
    assert (res.added, res.updated, res.deleted) == (0, 1, 0), res
    assert "fixed it" in col.get("support:q1@a.example#2").text

    c.select_folder("Sent")  # the agent's answer is deleted: its chunk goes
    c.delete_messages(c.search("ALL"))
    c.expunge()
    res = sync_source(index, src)
    assert res.updated == 1
    seen = texts(col, ["group:support"])
    assert not any("WireGuard" in t for t in seen.values())
    assert "support:q1@a.example#2" not in seen and "fixed it" in seen["support:q1@a.example#1"]

    c.select_folder("INBOX")  # a whole thread is deleted: its document goes
    c.delete_messages(c.search(["HEADER", "Message-ID", "<r1@b.example>"]))
    c.expunge()
    res = sync_source(index, src)
    assert res.deleted == 1
    assert not any(i.startswith("support:r1@b.example") for i in texts(col, ["group:support"]))
    c.logout()


def test_maildir_source_into_a_collection(tmp_path: Path, index: ls.Database) -> None:
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path, create=True)
    box.add(message("m1@x", "Printer offline", "The floor 2 printer is offline."))
    toml = f"""
[[source]]
name = "it"
type = "maildir"
collection = "mail"

[source.settings]
path = "{path}"
acl = ["group:it"]
"""
    src = parse_sources(toml).get("it")
    assert sync_source(index, src).added == 1
    col = index.collection("mail")
    assert set(texts(col, ["group:it"])) == {"it:m1@x"}  # one part: the document's own id
    box.add(message("m2@x", "Re: Printer offline", "Back online.", minutes=3, reply_to=["m1@x"]))
    res = sync_source(index, src)
    assert res.updated == 1
    assert set(texts(col, ["group:it"])) == {"it:m1@x#0", "it:m1@x#1"}
    # The mailbox's rule changes: every thread follows it at the next sync.
    src = parse_sources(toml.replace('acl = ["group:it"]', 'acl = ["group:helpdesk"]')).get("it")
    res = sync_source(index, src)
    assert (res.status, res.updated) == ("done", 1), res.errors
    assert texts(col, ["group:it"]) == {}
    assert set(texts(col, ["group:helpdesk"])) == {"it:m1@x#0", "it:m1@x#1"}
