"""A small generated web site served by `http.server` in a thread, for the web connector's tests.

Real HTTP on 127.0.0.1 (no mocks): pages answer with an ETag (or only Last-Modified) and honour
If-None-Match / If-Modified-Since with 304; redirects, 404 and 410 are configurable, and every
request is counted per path (``hits``) and per full 200 answer (``served``), so tests prove that
an unchanged page was not downloaded again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: str
    ctype: str = "text/html; charset=utf-8"
    etag: bool = True  # False: Last-Modified only
    modified: float = 1_700_000_000.0
    encoding: str = "utf-8"


@dataclass
class Site:
    base: str = ""
    pages: dict[str, Page] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # answered 410 (others missing: 404)
    broken: set[str] = field(default_factory=set)  # answered 500
    hits: Counter[str] = field(default_factory=Counter)
    served: Counter[str] = field(default_factory=Counter)
    headers: list[dict[str, str]] = field(default_factory=list)

    def html(self, path: str, title: str, text: str, links: list[str] = ()) -> None:  # type: ignore[assignment]
        anchors = "".join(f'<li><a href="{h}">{h}</a></li>' for h in links)
        body = (
            f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>"
            f"<p>{text}</p><ul>{anchors}</ul></main></body></html>"
        )
        old = self.pages.get(path)
        modified = (old.modified + 60) if old else 1_700_000_000.0
        self.pages[path] = Page(body, etag=old.etag if old else True, modified=modified)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k.replace("_", "-"), v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            site.hits[path] += 1
            site.headers.append({"path": path, **{k.lower(): v for k, v in self.headers.items()}})
            if path in site.redirects:
                self._send(301, Location=site.redirects[path])
                return
            if path in site.broken:
                self._send(500, b"internal error")
                return
            if path in site.gone:
                self._send(410)
                return
            page = site.pages.get(path)
            if page is None:
                self._send(404, b"not found")
                return
            body = page.body.replace("{base}", site.base).encode(page.encoding)
            tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            lm = formatdate(page.modified, usegmt=True)
            if page.etag and self.headers.get("If-None-Match") == tag:
                self._send(304, ETag=tag)
                return
            since = self.headers.get("If-Modified-Since")
            if (
                not page.etag
                and since
                and parsedate_to_datetime(since).timestamp() >= page.modified
            ):
                self._send(304)
                return
            site.served[path] += 1
            extra = {"ETag": tag} if page.etag else {}
            self._send(200, body, Content_Type=page.ctype, Last_Modified=lm, **extra)

    return Handler


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def intranet(site: Site) -> Site:
    """The generated test site: robots.txt disallows /private/, a sitemap, pages that link."""
    site.pages["/robots.txt"] = Page(
        "User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n", "text/plain"
    )
    site.pages["/sitemap.xml"] = Page(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{base}/docs/vpn.html</loc></url><url><loc>{base}/docs/old.html</loc></url>"
        "<url><loc>{base}/docs/leave.html</loc></url></urlset>",
        "application/xml",
    )
    site.html(
        "/",
        "Intranet",
        "Welcome to the intranet home page.",
        [
            "/docs/vpn.html",
            "/private/salaries.html",
            "/docs/expenses.html#top",
            "https://elsewhere.example/",
            "/docs/notes.txt",
            "/docs/logo.png",
            "mailto:x@y",
        ],
    )
    site.html(
        "/docs/vpn.html",
        "VPN setup",
        "Install the VPN client and sign in with your badge.",
        ["/docs/expenses.html"],
    )
    site.html("/docs/expenses.html", "Expenses", "Submit expenses within thirty days of travel.")
    site.html("/docs/leave.html", "Leave policy", "Annual leave is twenty five days a year.")
    site.html("/private/salaries.html", "Salaries", "Never crawled: robots.txt disallows it.")
    site.html("/docs/new.html", "Moved page", "This page moved here from old.html.")
    site.redirects["/docs/old.html"] = "/docs/new.html"
    site.pages["/docs/notes.txt"] = Page("Plain text notes about the coffee machine.", "text/plain")
    site.pages["/docs/logo.png"] = Page("not an image a loader reads", "image/png")
    site.pages["/docs/leave.html"].etag = False  # this one speaks Last-Modified only
    return site
