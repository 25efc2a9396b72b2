"""The ``web`` connector: crawl a site (an intranet, a wiki) from start URLs or a sitemap.

Settings (the source's table in sources.toml)::

    start_urls = ["https://wiki.example.com/"]
    sitemap = "https://wiki.example.com/sitemap.xml"     # optional; robots.txt Sitemap: lines too
    prefixes = ["https://wiki.example.com/"]             # default: the start URLs' sites
    max_pages = 1000                                     # requests per run
    delay = 0.5                                          # seconds between requests to one host
    owners = {"*" = ["*"], "finance/**" = ["group:finance"]}   # on the URL path, last match wins
                                                         # (``/`` and ``.../`` match as ``index``)

A page's record id is its final URL (after redirects, so a redirect never makes a duplicate);
its bytes go through the ingest loader of its content type (trafilatura for HTML). The cursor
holds each known page's ETag and Last-Modified: the next run asks with If-None-Match and
If-Modified-Since, and a 304 costs neither a download nor an encoding. Known pages are asked
again every run; a 404 or 410, a redirect elsewhere, a robots.txt disallow, a ``noindex`` or a
URL now outside the prefixes deletes the page. Errors (5xx, timeouts) fail that page alone.
Credentials: ``token_env`` (a bearer token) or ``username`` with ``password_env``.

httpx rather than urllib: one connection pool for the whole crawl, a timeout on every phase,
and redirects handled hop by hop here (each hop is checked against robots.txt and the prefixes).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from latentsearch.connectors.base import Change, Checkpoint, Connector, Deleted, Failed, Record
from latentsearch.connectors.jsoncursor import read_cursor
from latentsearch.connectors.pathrules import PathRules
from latentsearch.connectors.webparts import (
    SUFFIXES,
    Robots,
    normalize,
    origin,
    page_links,
    parse_sitemap,
    utf8,
    within,
)
from latentsearch.errors import ConnectorError, SourceConfigError

_GONE = (404, 410)
_MAX_HOPS = 10


def _urls(settings: Mapping[str, Any], key: str) -> list[str]:
    value = settings.get(key, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list):
        raise SourceConfigError(f"web source setting {key!r} must be a URL or a list of URLs")
    out = []
    for v in value:
        u = normalize(v) if isinstance(v, str) else None
        if u is None:
            raise SourceConfigError(f"web source setting {key!r}: {v!r} is not an http(s) URL")
        out.append(u)
    return out


@dataclass(frozen=True, slots=True)
class Fetched:
    """One response, its body read (at most ``max_bytes``)."""

    status: int
    headers: httpx.Headers
    body: bytes
    encoding: str | None

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and "location" in self.headers

    @property
    def text(self) -> str:
        try:
            return self.body.decode(self.encoding or "utf-8", "replace")
        except LookupError:  # a charset name Python does not know
            return self.body.decode("utf-8", "replace")


class WebConnector(Connector):
    type = "web"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        s = self.settings
        self.start = _urls(s, "start_urls")
        self.sitemaps = _urls(s, "sitemap")
        if not self.start and not self.sitemaps:
            raise SourceConfigError(
                f"web source {name!r} needs start_urls = [...] or sitemap = '.../sitemap.xml'"
            )
        self.prefixes = _urls(s, "prefixes") or sorted(
            {origin(u) + "/" for u in self.start + self.sitemaps}
        )
        try:
            self.max_pages = max(1, int(s.get("max_pages", 1000)))
            self.delay = max(0.0, float(s.get("delay", 0.5)))
            self.every = max(1, int(s.get("checkpoint_every", 50)))
            self.max_bytes = int(s.get("max_bytes", 20 << 20))
            timeout = float(s.get("timeout", 30))
        except (TypeError, ValueError) as exc:
            raise SourceConfigError(
                f"web source {name!r}: a numeric setting is not a number: {exc}"
            ) from exc
        self.agent = str(s.get("user_agent", "latentsearch"))
        owners = s.get("owners", {})
        if not isinstance(owners, Mapping):
            raise SourceConfigError("web source setting owners must be a table {pattern = [...]}")
        self.owners = PathRules.from_mapping(owners, f"web source {name!r} owners")
        auth: httpx.Auth | None = None
        headers = {"User-Agent": self.agent}
        if "token" in self.secrets:
            headers["Authorization"] = f"Bearer {self.secrets['token']}"
        elif "password" in self.secrets:
            auth = httpx.BasicAuth(str(s.get("username", "")), self.secrets["password"])
        self._client_args: dict[str, Any] = {
            "headers": headers,
            "auth": auth,
            "timeout": timeout,
            "follow_redirects": False,
        }
        self._robots: dict[str, Robots] = {}
        self._last: dict[str, float] = {}
        self.requests = 0  # this run's HTTP requests (robots.txt and sitemaps included)

    # -- HTTP ---------------------------------------------------------------------------
    def get(self, client: httpx.Client, url: str, headers: dict[str, str]) -> Fetched:
        """GET ``url`` (no redirect followed), after the polite delay for its host."""
        host = origin(url)
        robots = self._robots.get(host)
        wait = max(self.delay, robots.delay() if robots else 0.0)
        pause = self._last.get(host, -1e9) + wait - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            with client.stream("GET", url, headers=headers) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise ValueError(f"too large: over {self.max_bytes} bytes (max_bytes)")
                charset = resp.charset_encoding  # declared in Content-Type, else None
                return Fetched(resp.status_code, resp.headers, bytes(body), charset)
        finally:
            self.requests += 1
            self._last[host] = time.monotonic()

    def robots(self, client: httpx.Client, url: str) -> Robots:
        host = origin(url)
        if host not in self._robots:
            try:
                resp = self.get(client, host + "/robots.txt", {})
            except (httpx.HTTPError, ValueError) as exc:
                raise ConnectorError(
                    f"cannot read {host}/robots.txt: {exc}; nothing changed"
                ) from exc
            if resp.status >= 500:
                raise ConnectorError(
                    f"{host}/robots.txt answered {resp.status}; the run stops so that an "
                    "outage deletes nothing; it is retried at the next run"
                )
            ok = resp.status == 200
            self._robots[host] = Robots(resp.text if ok else None, self.agent)
        return self._robots[host]

    def allowed(self, client: httpx.Client, url: str) -> bool:
        return within(url, self.prefixes) and self.robots(client, url).allowed(url)

    def sitemap_urls(self, client: httpx.Client) -> Iterator[str | Failed]:
        todo = deque(self.sitemaps)
        # only the sites being crawled: credentials are never sent to a host a robots.txt names
        sites = {origin(u) for u in self.prefixes + self.sitemaps}
        for start in self.start + self.sitemaps:
            listed = (normalize(u) for u in self.robots(client, start).sitemaps())
            todo.extend(u for u in listed if u and origin(u) in sites)
        seen: set[str] = set()
        while todo and len(seen) < 100:
            sm = todo.popleft()
            if sm in seen:
                continue
            seen.add(sm)
            try:
                resp = self.get(client, sm, {})
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                pages, nested = parse_sitemap(resp.body)
            except (httpx.HTTPError, ValueError) as exc:
                yield Failed(sm, f"sitemap: {exc}")
                continue
            todo.extend(u for u in (normalize(x) for x in nested) if u and origin(u) in sites)
            yield from (u for u in (normalize(x) for x in pages) if u)

    # -- the crawl ----------------------------------------------------------------------
    def changes(self, cursor: str | None) -> Iterator[Change]:
        pages: dict[str, Any] = read_cursor(cursor, "pages", "web").get("pages", {})
        self.requests = 0
        self._robots.clear()
        with httpx.Client(**self._client_args) as client:
            yield from _Crawl(self, client, pages).run()


class _Crawl:
    """One run: the frontier, what was visited, and the pages' validators (the cursor)."""

    def __init__(self, conn: WebConnector, client: httpx.Client, pages: dict[str, Any]) -> None:
        self.conn, self.client, self.pages = conn, client, pages
        self.queue: deque[str] = deque()
        self.queued: set[str] = set()
        self.done = 0

    def push(self, url: str) -> None:
        if url not in self.queued and within(url, self.conn.prefixes):
            self.queued.add(url)
            self.queue.append(url)

    def cursor(self) -> Checkpoint:
        return Checkpoint(json.dumps({"pages": self.pages}, sort_keys=True))

    def forget(self, url: str) -> Iterator[Change]:
        if self.pages.pop(url, None) is not None:
            yield Deleted(url)

    def run(self) -> Iterator[Change]:
        conn = self.conn
        for url in conn.start:
            self.push(url)
        for found in conn.sitemap_urls(self.client):
            if isinstance(found, Failed):
                yield found
            else:
                self.push(found)
        for url in sorted(self.pages):  # known pages are asked again: 304, changed or gone
            if not conn.allowed(self.client, url):
                yield from self.forget(url)
            else:
                self.push(url)
        while self.queue and self.done < conn.max_pages:
            yield from self.visit(self.queue.popleft())
            self.done += 1
            if self.done % conn.every == 0:
                yield self.cursor()
        yield self.cursor()

    def visit(self, url: str) -> Iterator[Change]:
        conn, here = self.conn, url
        try:
            for _ in range(_MAX_HOPS):
                if not conn.allowed(self.client, here):
                    yield from self.forget(url)
                    yield from self.forget(here)
                    return
                etag, modified = (self.pages.get(here) or [None, None])[:2]
                headers = {"If-None-Match": etag} if etag else {}
                if modified:
                    headers["If-Modified-Since"] = modified
                resp = conn.get(self.client, here, headers)
                if not resp.is_redirect:
                    break
                target = normalize(resp.headers.get("location", ""), here)
                if target is None or (target != url and target in self.queued):
                    yield from self.forget(url)  # a redirect to a page crawled on its own
                    return
                self.queued.add(target)
                here = target
            else:
                yield Failed(url, f"more than {_MAX_HOPS} redirects")
                return
        except (httpx.HTTPError, ValueError) as exc:
            yield Failed(url, f"{type(exc).__name__}: {exc}")
            return
        if here != url:
            yield from self.forget(url)  # recorded under its final URL only
        yield from self.page(here, resp)

    def page(self, url: str, resp: Fetched) -> Iterator[Change]:
        if resp.status == 304:
            return  # unchanged: no download, no encoding
        if resp.status in _GONE:
            yield from self.forget(url)
            return
        if resp.status != 200:
            yield Failed(url, f"HTTP {resp.status}")
            return
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = SUFFIXES.get(ctype)
        if suffix is None:
            yield from self.forget(url)  # not a document type the loaders read
            return
        noindex = False
        if suffix == ".html":
            links, noindex, _ = page_links(resp.text, url)
            for link in links:
                self.push(link)
        if noindex:
            yield from self.forget(url)
            return
        path = unquote(urlsplit(url).path).lstrip("/")
        rule_path = path + "index" if path.endswith("/") or not path else path
        acl = self.conn.owners.principals(rule_path) if self.conn.owners else None
        if acl == []:
            yield from self.forget(url)
            return
        name = posixpath.basename(path)
        filename = name if name.lower().endswith(suffix) else f"page{suffix}"
        body = resp.body if suffix == ".pdf" else utf8(resp.body, resp.encoding)
        digest = hashlib.sha256(body).hexdigest()[:24]
        tag = hashlib.sha256(json.dumps(acl).encode()).hexdigest()[:8]
        self.pages[url] = [resp.headers.get("etag"), resp.headers.get("last-modified")]
        yield Record(
            id=url,
            version=f"{digest}:{tag}",
            content=body,
            filename=filename,
            uri=url,
            metadata={"url": url, "host": urlsplit(url).netloc, "path": "/" + path},
            acl=acl,
        )
