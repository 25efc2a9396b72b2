"""Snippet cleaning (`latentsearch.server.snippets`): each format's parser removes its markup,
the format follows the source, offsets of query terms point into the clean text, and stored
text never makes docutils read a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from resultskit import MARKUP, SAMPLES

from latentsearch.query.citations import SNIPPET_CHARS, cite
from latentsearch.results import Chunk, Hit, Source
from latentsearch.server.snippets import CONTEXT_CHARS, _region, plain_text, preview, source_format


def hit(text: str, *, uri: str | None = None, id: str = "x", **kw) -> Hit:
    return Hit(
        id=id,
        score=0.5,
        kind="text",
        text=text,
        metadata=kw.pop("metadata", {}),
        source=Source(uri, None),
        **kw,
    )


@pytest.mark.parametrize(
    ("fmt", "raw", "clean"),
    [
        (
            "markdown",
            "# Title\n\nSome **bold** and `code`, a [link](https://x.example).",
            "Title Some bold and code, a link.",
        ),
        (
            "markdown",
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ <b>raw</b> &amp; x",
            "a b 1 2 gone raw & x",
        ),
        (
            "rst",
            "Title\n=====\n\nSome **bold** and ``code``.\n\n* item one\n* item two",
            "Title Some bold and code. item one item two",
        ),
        (
            "html",
            "<h2>Head</h2><p>a &amp; b<br>c</p><script>evil()</script><style>p{}</style>"
            "<!-- note -->d",
            "Head a & b c d",
        ),
        ("text", "**kept** as <b>written</b>", "**kept** as <b>written</b>"),
    ],
)
def test_each_format_loses_its_markup(fmt: str, raw: str, clean: str) -> None:
    assert plain_text(raw, fmt) == clean  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["markdown", "rst", "html", "text"])
def test_empty_and_blank_text(fmt: str) -> None:
    assert plain_text("", fmt) == "" and plain_text(" \n\t", fmt) == ""  # type: ignore[arg-type]


def test_format_follows_uri_then_document_id_then_type() -> None:
    assert source_format(hit("x", uri="https://h.example/a/page.HTML?x=1")) == "html"
    assert source_format(hit("x", uri="file:///srv/runbooks/vpn.md")) == "markdown"
    chunk = Chunk("runbooks/failover.rst", 0, 1)
    assert source_format(hit("x", uri="https://wiki.example/7", chunk=chunk)) == "rst"
    assert source_format(hit("x", metadata={"type": "md"})) == "markdown"
    assert (
        source_format(hit("x", uri="https://h.example/q?f=a.md")) == "text"
    )  # a query is no suffix
    assert source_format(hit("x", metadata={"type": "ticket"})) == "text"


def test_rst_never_reads_a_file_the_text_names(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CONTENT")
    raw = (
        f"Intro\n\n.. include:: {secret}\n\n.. raw:: html\n   :file: {secret}\n\n"
        f".. csv-table:: t\n   :file: {secret}\n\nOutro"
    )
    out = plain_text(raw, "rst")
    assert "TOPSECRET" not in out and str(tmp_path) not in out
    assert out.startswith("Intro") and out.endswith("Outro")


def test_preview_of_each_sample_format_is_clean_with_marks_on_terms() -> None:
    for path, fmt, query in (
        ("runbooks/vpn-troubleshooting.md", "markdown", "windows laptops power saving"),
        ("runbooks/database-failover.rst", "rst", "promote the replica"),
        ("policies/security-onboarding.md", "markdown", "password"),
    ):
        text = (SAMPLES / "docs" / path).read_text()
        p = preview(hit(text, id=path, uri=f"https://wiki.example/{path}"), query)
        assert p is not None and p.format == fmt
        assert p.text and not any(m in p.text for m in MARKUP), (path, p.text)
        assert p.highlights, (path, p.text)
        words = set(query.lower().split())
        for s in p.highlights:
            assert any(p.text[s.start : s.end].lower().startswith(w[:4]) for w in words)


def test_a_long_passage_renders_only_around_the_snippet() -> None:
    para = "Filler paragraph with **markup** and nothing to find.\n\n"
    text = para * 2000 + "The **needle** is here.\n\n" + para * 2000  # ~220k characters
    h = hit(text, uri="https://x.example/a.md")
    p = preview(h, "needle")
    assert p is not None and "needle" in p.text and "**" not in p.text
    lo, hi = _region(
        h, cite(h, "needle"), SNIPPET_CHARS
    )  # what was rendered: paragraphs near the match
    region = text[lo:hi]
    assert "needle" in region and len(region) <= 2 * CONTEXT_CHARS + SNIPPET_CHARS
    assert region.startswith("Filler") and region.endswith("find.")
    assert p.more_before and p.more_after


def test_preview_says_whether_the_passage_goes_on() -> None:
    whole = preview(hit("A short **note**.", uri="https://x.example/a.md"), "note")
    assert whole is not None and whole.text == "A short note." and whole.highlights
    assert not whole.more_before and not whole.more_after
    later = preview(hit("A short note.", chunk=Chunk("doc", 500, 513)), "note")
    assert later is not None and later.more_before and not later.more_after
    long = preview(hit("word " * 200 + "needle " + "word " * 200), "needle")
    assert long is not None and long.more_before and long.more_after and len(long.text) <= 240


def test_image_and_vector_hits_have_no_preview() -> None:
    img = Hit(id="i", score=1, kind="image", text="/srv/x.png", metadata={}, source=Source())
    assert preview(img, "x") is None
    assert preview(hit(""), "x") is None


@pytest.mark.parametrize(
    ("fmt", "cut", "clean"),
    [
        (
            "markdown",
            "-mtime +7 -delete`. Remove images with `docker image prune`.",
            "-mtime +7 -delete. Remove images with docker image prune.",
        ),
        ("markdown", "end** of bold and `code", "end of bold and code"),
        (
            "rst",
            "ld** text and ``pg_ctl promote`` then ``pg_base",
            "ld text and pg_ctl promote then pg_base",
        ),
    ],
)
def test_a_passage_cut_inside_a_span_loses_the_lone_delimiter(
    fmt: str, cut: str, clean: str
) -> None:
    assert plain_text(cut, fmt) == clean  # type: ignore[arg-type]


def test_literal_stars_and_underscores_stay() -> None:
    assert plain_text("5 * 3 and snake_case_name", "markdown") == "5 * 3 and snake_case_name"


def test_a_link_cut_after_its_bracket_shows_only_its_text() -> None:
    cut = "runbook](https://wiki.example/vpn) before you call"
    assert plain_text(cut, "markdown") == "runbook before you call"


def test_html_tags_cut_at_the_passage_edges_are_dropped() -> None:
    cut = 'ass="intro">Badges are <b>printed</b> at the kiosk.</p><p>Lost <a hr'
    chunk = Chunk("kiosk.html", 40, 40 + len(cut))
    p = preview(hit(cut, id="kiosk.html#2", chunk=chunk), "badges")
    assert p is not None and p.text == "Badges are printed at the kiosk. Lost", p
    whole = preview(hit("x > y, said <b>the</b> doc", uri="https://x.example/a.html"), "doc")
    assert whole is not None and whole.text == "x > y, said the doc"  # the document's start


def test_a_megabyte_plain_passage_is_previewed_from_its_region_only() -> None:
    text = "filler words here. " * 55_000 + "the VPN outage was fixed. " + "more filler. " * 1000
    h = hit(text)
    c = cite(h, "vpn outage")
    lo, hi = _region(h, c, SNIPPET_CHARS)
    assert hi - lo <= 2 * CONTEXT_CHARS + SNIPPET_CHARS < len(text) // 300
    p = preview(h, "vpn outage", citation=c)
    assert p is not None and p.format == "text" and "VPN outage" in p.text
    assert [p.text[s.start : s.end] for s in p.highlights] == ["VPN", "outage"]
