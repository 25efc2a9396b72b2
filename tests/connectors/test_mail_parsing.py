"""Threading, subjects, quote trimming and message parsing of the mail connectors."""

from __future__ import annotations

from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st
from mailkit import message

from latentsearch.checks import text_problem
from latentsearch.connectors.mail_message import parse_message, trim_quotes
from latentsearch.connectors.mail_threads import (
    build_threads,
    message_ids,
    normalise_subject,
    read_envelope,
    thread_record_id,
)


def env(raw: bytes, key: str):  # type: ignore[no-untyped-def]
    return read_envelope(raw.split(b"\n\n", 1)[0], key, f"test:{key}")


def test_subjects() -> None:
    assert normalise_subject("RE: Fwd:  VPN   down") == "vpn down"
    assert normalise_subject("AW: Re[2]: Drucker") == "drucker"
    assert normalise_subject("Reminder: renew") == "reminder: renew"  # not a reply marker
    assert normalise_subject("Re:") == ""


def test_message_id_lists() -> None:
    assert message_ids("<a@x>\r\n <b@y>  <a@x>") == ["a@x", "b@y"]
    assert message_ids("<c@z> (Ann's message of Monday)") == ["c@z"]
    assert message_ids("bare@id") == ["bare@id"]
    assert message_ids(None) == []


def test_threads_by_references_and_subject_but_not_by_equal_subjects() -> None:
    envs = [
        env(message("root@x", "Help", "first"), "1"),
        env(message("other@x", "Help", "an unrelated first message", minutes=1), "2"),
        # References without In-Reply-To, and a reply to a reply.
        env(
            message("r1@x", "Re: Help", "a", minutes=2, reply_to=["root@x"], in_reply_to=False), "3"
        ),
        env(message("r2@x", "Re: Help", "b", minutes=3, reply_to=["root@x", "r1@x"]), "4"),
        # No threading headers: joins the latest earlier "Help" thread by subject.
        env(message("r3@x", "RE: help", "c", minutes=4), "5"),
        env(message("solo@x", "Re: never seen", "d", minutes=5), "6"),
    ]
    threads = {t.id: [m.message_id for m in t.messages] for t in build_threads(envs)}
    assert threads == {
        "root@x": ["root@x", "r1@x", "r2@x"],
        "other@x": ["other@x", "r3@x"],
        "solo@x": ["solo@x"],
    }
    # The root deleted: the thread keeps its id, from the replies' References.
    rest = [e for e in envs if e.message_id != "root@x"]
    assert "root@x" in {t.id for t in build_threads(rest)}


def test_messages_without_ids_and_odd_ids() -> None:
    raw = b"Subject: no id\nFrom: a@b\n\nbody\n"
    e1, e2 = env(raw, "k1"), env(raw, "k2")
    assert e1.message_id != e2.message_id and e1.message_id.endswith("@latentsearch.invalid")
    assert len(build_threads([e1, e2])) == 2
    assert thread_record_id("x" * 500).startswith("thread-")
    assert thread_record_id("ok@id") == "ok@id"


def test_trim_quotes() -> None:
    text = "Thanks, fixed.\n\nOn Mon, 2 Mar 2026, Ann wrote:\n> it is broken\n> badly\n\n-- \nBob, Support"
    assert trim_quotes(text) == "Thanks, fixed."
    outlook = "Try again now.\n\n-----Original Message-----\nFrom: Ann\nIt is broken"
    assert trim_quotes(outlook) == "Try again now."
    inline = "> question one\nanswer one\n> question two\nanswer two"
    assert trim_quotes(inline) == "answer one\nanswer two"
    assert trim_quotes("> only a quote") == "> only a quote"  # nothing of its own: kept whole


def test_parse_html_alternative_charsets_and_forwarded() -> None:
    raw = message("h@x", "Badge", "", html="<p>The lab door rejects my badge.</p>")
    m = parse_message(raw, env(raw, "h"))
    assert "lab door rejects" in m.body and "<p>" not in m.body
    latin = (
        b"From: =?iso-8859-1?q?Jos=E9?= <jose@x>\nSubject: caf\xe9\nMessage-ID: <l@x>\n"
        b"Content-Type: text/plain; charset=iso-8859-1\n\nLe caf\xe9 est froid.\n"
    )
    m = parse_message(latin, env(latin, "l"))
    assert m.body == "Le café est froid." and m.sender_line.startswith("José")
    inner = EmailMessage()
    inner["Subject"] = "Original complaint"
    inner.set_content("The invoice total is wrong.")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: complaint"
    outer["Message-ID"] = "<f@x>"
    outer.set_content("See below.")
    outer.add_attachment(inner)
    m = parse_message(outer.as_bytes(), env(outer.as_bytes(), "f"))
    assert [a.text for a in m.attachments] == ["The invoice total is wrong."]


def test_bad_attachments_are_listed_not_fatal() -> None:
    raw = message(
        "b@x",
        "Files",
        "see attached",
        attachments=[
            ("broken.pdf", b"%PDF-1.4 not really", "application/pdf"),
            ("notes.md", b"# Notes\nrestart it", "text/markdown"),
        ],
    )
    m = parse_message(raw, env(raw, "b"))
    assert [a.name for a in m.attachments] == ["notes.md"]
    assert m.skipped[0]["name"] == "broken.pdf" and "PDF" in m.skipped[0]["reason"]
    small = parse_message(raw, env(raw, "b"), max_attachment=5)
    assert all("too large" in s["reason"] for s in small.skipped) and small.attachments == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.text(max_size=80))
def test_any_bytes_parse_or_thread_without_raising(raw: bytes, header: str) -> None:
    """Mail is hostile input: whatever the bytes, parsing and threading do not raise, and all
    text they give back can be stored (no NUL, no lone surrogate)."""
    data = (
        f"Subject: {header}\nMessage-ID: {header}\nReferences: {header}\n\n".encode(
            "utf-8", "surrogateescape"
        )
        + raw
    )
    for blob in (raw, data):
        e = env(blob, "k")
        m = parse_message(blob, e)
        for text in [e.message_id, e.subject, m.body, m.sender_line, *e.references]:
            assert text_problem(text) is None
        assert build_threads([e, env(blob, "k2")])
