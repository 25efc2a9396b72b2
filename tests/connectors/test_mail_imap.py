"""The IMAP connector against a real Dovecot (tests/mailkit.py starts it): threads, replies,
deleted messages and threads, attachments, a folder renumbered, resuming, and credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from corpus import make_pdf
from imapclient import IMAPClient
from mailkit import Dovecot, message, running_dovecot

from latentsearch.connectors import mail
from latentsearch.connectors.base import Checkpoint, Deleted, Failed, Record
from latentsearch.connectors.imap import ImapConnector
from latentsearch.errors import ConnectorError, LiteralSecretError, SourceConfigError

ENV = "LS_TEST_IMAP_PASSWORD"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def client(dovecot: Dovecot) -> Iterator[IMAPClient]:
    c = IMAPClient(dovecot.host, port=dovecot.port, ssl=False)
    c.login(dovecot.user, dovecot.password)
    for folder in ("Sent", "Archive"):
        if not c.folder_exists(folder):
            c.create_folder(folder)
    for folder in ("INBOX", "Sent", "Archive"):  # every test starts from empty folders
        c.select_folder(folder)
        uids = c.search("ALL")
        if uids:
            c.delete_messages(uids)
            c.expunge()
    c.unselect_folder()
    yield c
    c.logout()


@pytest.fixture
def connector(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> ImapConnector:
    monkeypatch.setenv(ENV, dovecot.password)
    return make(dovecot)


def make(dovecot: Dovecot, **extra: object) -> ImapConnector:
    settings = {
        "host": dovecot.host,
        "port": dovecot.port,
        "ssl": False,
        "username": dovecot.user,
        "password_env": ENV,
        "folders": ["INBOX", "Sent"],
        "acl": ["group:support"],
        **extra,
    }
    return ImapConnector("support-mail", settings, {})


def run(conn: ImapConnector, cursor: str | None) -> tuple[list[Record], list[str], str]:
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
    assert last is not None, "a run must end with a checkpoint"
    return records, deleted, last


def delete_uid_of(client: IMAPClient, folder: str, mid: str) -> None:
    client.select_folder(folder)
    uids = client.search(["HEADER", "Message-ID", mid])
    assert len(uids) == 1, uids
    client.delete_messages(uids)
    client.expunge()
    client.unselect_folder()


PDF = make_pdf(["Invoice 7731: the refund of 49 euros was approved."])


def seed(client: IMAPClient) -> None:
    client.append(
        "INBOX",
        message(
            "q1@customer.example", "VPN drops every hour", "My VPN disconnects hourly since Monday."
        ),
    )
    client.append(
        "Sent",
        message(
            "a1@example.com",
            "Re: VPN drops every hour",
            "Please update the WireGuard client to 1.0.5.\n\nOn Mon, Ann wrote:\n> My VPN disconnects hourly since Monday.",
            sender="Bob Support <bob@example.com>",
            to="ann@customer.example",
            minutes=30,
            reply_to=["q1@customer.example"],
        ),
    )
    client.append(
        "INBOX",
        message(
            "r1@shop.example",
            "Refund request",
            "Where is my refund? The invoice is attached.",
            sender="Cy <cy@shop.example>",
            minutes=60,
            attachments=[("invoice-7731.pdf", PDF, "application/pdf")],
        ),
    )
    # No References/In-Reply-To: joins "Refund request" by its subject.
    client.append(
        "INBOX",
        message(
            "r2@shop.example",
            "RE: Refund request",
            "Any news on the refund?",
            sender="cy@shop.example",
            minutes=90,
        ),
    )


def by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}


def test_threads_messages_attachments_and_metadata(
    client: IMAPClient, connector: ImapConnector, dovecot: Dovecot
) -> None:
    seed(client)
    records, deleted, _ = run(connector, None)
    assert deleted == []
    got = by_id(records)
    assert set(got) == {"q1@customer.example", "r1@shop.example"}
    vpn = got["q1@customer.example"]
    assert vpn.title == "VPN drops every hour"
    assert vpn.acl == ["group:support"]
    assert vpn.parts is not None and len(vpn.parts) == 2  # one chunk per message, across folders
    assert "disconnects hourly" in vpn.parts[0] and "Ann Lee" in vpn.parts[0]
    assert "WireGuard client to 1.0.5" in vpn.parts[1]
    assert (
        "disconnects hourly" not in vpn.parts[1] and "wrote:" not in vpn.parts[1]
    )  # quote trimmed
    assert vpn.uri is not None and vpn.uri.startswith(
        f"imap://{dovecot.host}:{dovecot.port}/INBOX;UIDVALIDITY="
    )
    assert ";UID=" in vpn.uri
    md = vpn.metadata
    assert md["from"] == ["ann@customer.example", "bob@example.com"]
    assert md["message_ids"] == ["q1@customer.example", "a1@example.com"]
    assert md["folders"] == ["INBOX", "Sent"]
    assert md["messages"] == 2 and md["date"].startswith("2026-03-02T09:00")
    refund = got["r1@shop.example"]
    assert refund.parts is not None and len(refund.parts) == 3  # two messages, one PDF
    assert "Any news on the refund" in refund.parts[1]
    assert (
        "Attachment invoice-7731.pdf" in refund.parts[2] and "refund of 49 euros" in refund.parts[2]
    )
    assert refund.metadata["attachments"] == ["invoice-7731.pdf"]
    assert set(connector.keys() or []) == set(got)


def test_reply_delete_message_and_thread(client: IMAPClient, connector: ImapConnector) -> None:
    seed(client)
    first, _, cursor = run(connector, None)
    versions = {r.id: r.version for r in first}

    again, deleted, cursor = run(make_like(connector), cursor)
    assert (again, deleted) == ([], [])  # nothing changed: nothing fetched

    client.append(
        "INBOX",
        message(
            "q2@customer.example",
            "Re: VPN drops every hour",
            "Updating to 1.0.5 fixed it, thanks!",
            minutes=120,
            reply_to=["q1@customer.example", "a1@example.com"],
        ),
    )
    changed, deleted, cursor = run(make_like(connector), cursor)
    assert deleted == [] and [r.id for r in changed] == ["q1@customer.example"]
    assert changed[0].version != versions["q1@customer.example"]
    assert (
        changed[0].parts is not None
        and "fixed it" in changed[0].parts[-1]
        and len(changed[0].parts) == 3
    )

    delete_uid_of(client, "Sent", "<a1@example.com>")  # the agent's answer goes
    changed, deleted, cursor = run(make_like(connector), cursor)
    assert [r.id for r in changed] == ["q1@customer.example"] and deleted == []
    parts = changed[0].parts or []
    assert len(parts) == 2 and not any("WireGuard client to 1.0.5" in p for p in parts)

    delete_uid_of(client, "INBOX", "<r1@shop.example>")
    delete_uid_of(client, "INBOX", "<r2@shop.example>")
    changed, deleted, cursor = run(make_like(connector), cursor)
    assert changed == [] and deleted == ["r1@shop.example"]
    assert list(make_like(connector).keys() or []) == ["q1@customer.example"]

    # The first message of a thread deleted: the thread keeps its id (replies name their root).
    delete_uid_of(client, "INBOX", "<q1@customer.example>")
    changed, deleted, _ = run(make_like(connector), cursor)
    assert [r.id for r in changed] == ["q1@customer.example"] and deleted == []
    assert changed[0].metadata["message_ids"] == ["q2@customer.example"]


def make_like(conn: ImapConnector) -> ImapConnector:
    """A fresh connector, as a new run of `latentsearch sync` builds one."""
    return ImapConnector(conn.name, conn.settings, conn.secrets)


def test_folder_renumbered_reindexes_its_threads(
    client: IMAPClient, connector: ImapConnector, dovecot: Dovecot
) -> None:
    client.append("Archive", message("old@x.example", "Old case", "Closed case about printers."))
    conn = make(dovecot, folders=["Archive"])
    first, _, cursor = run(conn, None)
    assert [r.id for r in first] == ["old@x.example"]
    client.delete_folder("Archive")  # recreated: a new UIDVALIDITY, same message
    client.create_folder("Archive")
    client.append("Archive", message("old@x.example", "Old case", "Closed case about printers."))
    again, deleted, _ = run(make(dovecot, folders=["Archive"]), cursor)
    assert [r.id for r in again] == ["old@x.example"] and deleted == []
    assert again[0].uri != first[0].uri and again[0].version != first[0].version


def test_a_run_stopped_at_a_checkpoint_resumes_without_loss_or_duplicates(
    client: IMAPClient, connector: ImapConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        client.append(
            "INBOX",
            message(
                f"t{i}@x.example", f"Case {i}", f"Problem number {i} with the printer.", minutes=i
            ),
        )
    monkeypatch.setattr(mail, "BATCH", 2)
    seen: list[str] = []
    cursor = None
    for change in connector.changes(None):  # killed after its first checkpoint
        if isinstance(change, Record):
            seen.append(change.id)
        if isinstance(change, Checkpoint):
            cursor = change.cursor
            break
    assert len(seen) == 2 and cursor is not None
    rest, deleted, _ = run(make_like(connector), cursor)
    assert deleted == []
    assert sorted(seen + [r.id for r in rest]) == [f"t{i}@x.example" for i in range(5)]


def test_credentials_only_from_the_environment(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LiteralSecretError, match="password_env"):
        make(dovecot, password="hunter2")
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(SourceConfigError, match=ENV):
        list(make(dovecot).changes(None))
    monkeypatch.setenv(ENV, "wrong")
    with pytest.raises(ConnectorError, match="login as support"):
        list(make(dovecot).changes(None))
    with pytest.raises(SourceConfigError, match="acl"):
        make(dovecot, acl="group:support")


def test_a_vanished_message_fails_its_thread_only(
    client: IMAPClient, connector: ImapConnector
) -> None:
    """A message expunged between the key scan and the fetch: that thread is reported, not the run."""
    client.append("INBOX", message("gone@x.example", "Gone", "Soon deleted."))
    client.append("INBOX", message("stays@x.example", "Stays", "Still here.", minutes=5))
    real_fetch = connector.fetch

    def fetch_after_expunge(keys):  # type: ignore[no-untyped-def]
        delete_uid_of(client, "INBOX", "<gone@x.example>")
        return real_fetch(keys)

    connector.fetch = fetch_after_expunge  # type: ignore[method-assign]
    changes = list(connector.changes(None))
    failed = [c for c in changes if isinstance(c, Failed)]
    assert [f.id for f in failed] == ["gone@x.example"]
    assert [c.id for c in changes if isinstance(c, Record)] == ["stays@x.example"]


def test_a_missing_folder_is_named(dovecot: Dovecot, connector: ImapConnector) -> None:
    with pytest.raises(ConnectorError, match="folder 'Nope'"):
        list(make(dovecot, folders=["INBOX", "Nope"]).changes(None))
