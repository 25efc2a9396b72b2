"""Snippets as clean text for the page: Markdown, reStructuredText and HTML markup stripped by
their own parsers (markdown-it-py, docutils, lxml), never by regular expressions.

A stored passage keeps its markup (ingest stores `.md` and `.rst` files as written, and records
may hold HTML), so the exact `citation` shows ``**bold**`` and ``<p>``. `preview` renders the
region around the citation's snippet to plain text and picks the best window of that text
again, with the query terms' offsets, so a client shows readable text and marks terms without
parsing anything. The citation itself stays exact (it locates the raw text in the document).

The format comes from the item's source: the suffix of its source URI's path, else of its
document id (a build names documents by their path), else its ``type`` metadata (ingest sets
it to the file suffix). Anything else is shown as written.
"""

from __future__ import annotations

import copy
import functools
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from latentsearch.query.citations import SNIPPET_CHARS, Citation, Span, cite
from latentsearch.results import Hit

Format = Literal["markdown", "rst", "html", "text"]
SUFFIXES: dict[str, Format] = {
    "md": "markdown",
    "markdown": "markdown",
    "mdown": "markdown",
    "rst": "rst",
    "rest": "rst",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
}
# The raw text rendered around the citation's snippet, each side: enough to close the markup a
# window cuts into (a list, a table row, a bold run), bounded so that a 1 MB passage renders in
# milliseconds. The region starts and ends at paragraph breaks where one is near.
CONTEXT_CHARS = 1_500
# HTML elements whose end is a break in the text (text_content() would join "a</p><p>b" as "ab").
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_DROPPED = ("script", "style", "template", "noscript")


@dataclass(slots=True)
class Preview:
    """A hit's passage for display: plain ``text`` (markup of ``format`` removed, whitespace
    collapsed), the query terms' offsets in it, and whether the document goes on before or after
    it (a client shows an ellipsis there)."""

    text: str
    format: Format
    highlights: list[Span] = field(default_factory=list)
    more_before: bool = False
    more_after: bool = False


def source_format(hit: Hit) -> Format:
    """The markup of ``hit``'s text, judged from its source URI, document id or ``type``."""
    candidates: list[str] = []
    if hit.source.uri:
        candidates.append(urlsplit(hit.source.uri).path)
    candidates.append(hit.chunk.parent if hit.chunk else hit.id)
    for name in candidates:
        suffix = posixpath.splitext(name)[1].lower().lstrip(".")
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
    kind = hit.metadata.get("type") if isinstance(hit.metadata, dict) else None
    if isinstance(kind, str) and kind.lower().lstrip(".") in SUFFIXES:
        return SUFFIXES[kind.lower().lstrip(".")]
    return "text"


def plain_text(text: str, fmt: Format) -> str:
    """``text`` in ``fmt`` as plain text, whitespace collapsed to single spaces."""
    if fmt == "markdown":
        out = _markdown(text)
    elif fmt == "rst":
        out = _rst(text)
    elif fmt == "html":
        out = _html(text)
    else:
        out = text
    return " ".join(out.split())


def preview(
    hit: Hit, query: str | None, *, width: int = SNIPPET_CHARS, citation: Citation | None = None
) -> Preview | None:
    """The clean snippet of a text ``hit`` for a text ``query`` (None for image and vector hits).

    ``citation``: the hit's citation when the caller has it (`cite` of the same hit and query),
    so that a long passage is not scanned twice."""
    if hit.kind != "text" or not hit.text:
        return None
    fmt = source_format(hit)
    text = hit.text
    lo, hi = _region(hit, citation or cite(hit, query, width=width), width)
    region = text[lo:hi]
    if fmt == "html":
        region = _whole_tags(region, lo > 0 or (hit.chunk is not None and hit.chunk.start > 0))
    try:
        clean = plain_text(region, fmt)
    except Exception:  # a parser that chokes on a cut region: show the passage as written
        fmt, clean = "text", " ".join(region.split())
    c = cite(replace(hit, text=clean, kind="text", chunk=None), query, width=width)
    return Preview(
        text=c.snippet,
        format=fmt,
        highlights=c.highlights,
        more_before=c.start > 0 or lo > 0 or (hit.chunk is not None and hit.chunk.start > 0),
        more_after=c.end < len(clean) or hi < len(text),
    )


def _whole_tags(html: str, cut_before: bool) -> str:
    """``html`` less a tag cut at either edge of a passage (``ass="x">`` or ``<a hr``), which the
    parser would otherwise keep as text. A leading ">" counts only where the passage starts
    inside the document."""
    first_gt, first_lt = html.find(">"), html.find("<")
    if cut_before and first_gt >= 0 and (first_lt < 0 or first_gt < first_lt):
        html = html[first_gt + 1 :]
    last_lt, last_gt = html.rfind("<"), html.rfind(">")
    return html[:last_lt] if last_lt > last_gt else html


def _region(hit: Hit, c: Citation, width: int) -> tuple[int, int]:
    """Where the raw text around the citation's snippet is, cut at paragraph breaks if near:
    bounded work for a 1 MB passage, whatever its format."""
    text = hit.text or ""
    if len(text) <= 2 * CONTEXT_CHARS + width:
        return 0, len(text)
    base = hit.chunk.start if hit.chunk else 0
    start, end = c.start - base, c.end - base
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(text), end + CONTEXT_CHARS)
    para = text.find("\n\n", lo, start)
    if para >= 0:
        lo = para + 2
    para = text.rfind("\n\n", end, hi)
    if para >= 0:
        hi = para
    return lo, hi


def _markdown(text: str) -> str:
    return _balanced(_render_markdown, text, MARKDOWN_SPANS)


def _render_markdown(text: str) -> str:
    # CommonMark to HTML (raw HTML blocks pass through), then the HTML parser takes the tags off.
    return _html(_markdown_parser().render(text))


@functools.cache
def _markdown_parser() -> Any:
    """One parser for all requests (building one costs milliseconds; rendering keeps no state)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


# A cut span: what is left of it on the page, and what closes it at the start and at the end.
# `` `code` ``, ``**bold**``, ``~~gone~~`` close with themselves; a link cut after its "[" leaves
# "](url)", closed by a "[" in front.
Span_ = tuple[str, str, str]
MARKDOWN_SPANS: tuple[Span_, ...] = (
    ("``", "``", "``"),
    ("`", "`", "`"),
    ("**", "**", "**"),
    ("__", "__", "__"),
    ("~~", "~~", "~~"),
    ("](", "[", ""),
)
RST_SPANS: tuple[Span_, ...] = (("``", "``", "``"), ("**", "**", "**"))


def _balanced(render: Callable[[str], str], text: str, spans: tuple[Span_, ...]) -> str:
    """``render(text)``, re-rendered with a span closed at the start or the end when a passage
    was cut inside it (a chunk that starts inside `` `code` ``, ``**bold**`` or a link): the
    parser then sees the whole span, and its lone delimiter does not reach the page."""

    def left(shown: str) -> int:
        return sum(shown.count(seen) for seen, _, _ in spans)

    out = render(text)
    for seen, head, tail in spans:
        if seen not in out:
            continue
        variants = [text + tail] if tail else []
        variants += [head + text] if head else []
        for variant in variants:
            tried = render(variant)
            if left(tried) < left(out) and len(tried.split()) >= len(out.split()):
                text, out = variant, tried
    return out


def _rst(text: str) -> str:
    return _balanced(_render_rst, text, RST_SPANS)


def _render_rst(text: str) -> str:
    from docutils import nodes
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    # Parse only (publish_doctree would rebuild its option parser each time, about 10 ms).
    tree = new_document("<passage>", copy.copy(_rst_settings()))
    Parser().parse(text, tree)
    # A cut region makes docutils complain (an unclosed `literal`); its messages are not text.
    for msg in list(tree.findall(nodes.system_message)):
        msg.parent.remove(msg)
    shown: str = tree.astext()
    return shown


@functools.cache
def _rst_settings() -> Any:
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser

    settings = get_default_settings(Parser)
    # Stored text is data: never read a file it names (include, raw :file:, csv-table :file:),
    # never pass raw HTML through. Report nothing: messages are dropped from the text anyway.
    settings.file_insertion_enabled = False
    settings.raw_enabled = False
    settings.report_level = 5
    settings.halt_level = 5
    settings.warning_stream = False
    return settings


def _html(text: str) -> str:
    import lxml.html
    from lxml import etree

    if not text.strip():
        return ""
    root: Any = lxml.html.fragment_fromstring(text, create_parent="div")
    for el in list(root.iter(*_DROPPED)):
        el.drop_tree()
    for el in root.iter(etree.Element):
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCKS:  # a break on both sides
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    shown: str = root.text_content()
    return shown
