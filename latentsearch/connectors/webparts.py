"""The pieces of a polite crawl: URL normal form, robots.txt, sitemaps and the links of a page.

robots.txt is read by the standard library's `urllib.robotparser` (fed the text the crawl's own
HTTP client fetched, so timeouts and credentials are the same). Missing robots.txt (any 4xx)
allows everything, as RFC 9309 says; a 5xx or an unreachable server stops the run instead of
reading as "disallow all", so an outage never deletes a site from the index.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

_DEFAULT_PORTS = {"http": 80, "https": 443}
# content type -> the suffix that picks the ingest loader
SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}


def normalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of an http(s) URL (no fragment, lower-case scheme and host, no
    default port, ``/`` for an empty path), or None for other schemes and malformed URLs."""
    try:
        joined = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(urldefrag(joined)[0])
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def utf8(body: bytes, charset: str | None) -> bytes:
    """Text bytes in UTF-8, which the ingest loaders read (a declared charset is honoured)."""
    if not charset or charset.lower().replace("_", "-") in ("utf-8", "utf8", "us-ascii", "ascii"):
        return body
    try:
        return body.decode(charset, "replace").encode("utf-8")
    except LookupError:  # an unknown charset name: leave the bytes to the loader
        return body


def within(url: str, prefixes: Iterable[str]) -> bool:
    return any(url.startswith(p) for p in prefixes)


class Robots:
    """One origin's robots.txt rules for one user agent."""

    def __init__(self, text: str | None, agent: str) -> None:
        self.agent = agent
        self._parser = RobotFileParser()
        self._parser.parse((text or "").splitlines())  # no rules (no file): everything allowed
        self._parser.modified()  # robotparser answers False until it believes it has read a file

    def allowed(self, url: str) -> bool:
        return self._parser.can_fetch(self.agent, url)

    def delay(self) -> float:
        value = self._parser.crawl_delay(self.agent)
        return float(value) if value is not None else 0.0

    def sitemaps(self) -> list[str]:
        return list(self._parser.site_maps() or [])


def parse_sitemap(data: bytes) -> tuple[list[str], list[str]]:
    """A sitemap's page URLs and, for a sitemap index, the sitemaps it names (gzip accepted).
    Raises ValueError when the bytes are not a sitemap."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        root = ET.fromstring(data)  # expat refuses entity expansion bombs since Python 3.7.1
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    tag = root.tag.rsplit("}", 1)[-1]
    if tag not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap: the root element is <{tag}>")
    locs = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
    return (locs, []) if tag == "urlset" else ([], locs)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base: str | None = None
        self.noindex = self.nofollow = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        elif tag in ("a", "area") and a.get("href") and "nofollow" not in a.get("rel", "").lower():
            self.links.append(a["href"])
        elif tag == "meta" and a.get("name", "").lower() in ("robots", "latentsearch"):
            words = {w.strip() for w in a.get("content", "").lower().split(",")}
            self.noindex |= bool(words & {"noindex", "none"})
            self.nofollow |= bool(words & {"nofollow", "none"})


def page_links(html: str, url: str) -> tuple[list[str], bool, bool]:
    """The normalized links of a page, and whether its robots meta tag says noindex and
    nofollow (then the links are not returned)."""
    parser = _Page()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; keep whatever was read before a failure
        pass
    if parser.nofollow:
        return [], parser.noindex, True
    base = urljoin(url, parser.base) if parser.base else url
    out = [u for u in (normalize(h, base) for h in parser.links) if u is not None]
    return list(dict.fromkeys(out)), parser.noindex, False
