"""The web connector against a real HTTP server on 127.0.0.1 serving a generated site:
robots.txt, sitemap, prefixes, ETag and Last-Modified 304s (proven by the server's counts),
a page that changes, one that disappears, one that redirects, max_pages and the delay."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator

import pytest
from gitkit import Run
from webkit import Page, Site, intranet, serve

from latentsearch.connectors.web import WebConnector
from latentsearch.connectors.webparts import normalize, page_links, parse_sitemap
from latentsearch.errors import ConnectorError, SourceConfigError


@pytest.fixture
def site() -> Iterator[Site]:
    with serve(Site()) as s:
        yield intranet(s)


def web(site: Site, **settings: object) -> WebConnector:
    return WebConnector("wiki", {"start_urls": [site.base + "/"], "delay": 0, **settings}, {})


def test_first_crawl_follows_links_sitemap_and_robots(site: Site) -> None:
    run = Run(web(site).changes(None))
    b = site.base
    assert set(run.records) == {
        f"{b}/",
        f"{b}/docs/vpn.html",
        f"{b}/docs/expenses.html",
        f"{b}/docs/leave.html",
        f"{b}/docs/new.html",  # under its final URL only: old.html redirects here
        f"{b}/docs/notes.txt",
    }
    assert site.hits["/private/salaries.html"] == 0  # robots.txt disallows it
    assert site.hits["/docs/logo.png"] == 1 and f"{b}/docs/logo.png" not in run.records
    vpn = run.records[f"{b}/docs/vpn.html"]
    assert vpn.filename == "vpn.html" and vpn.uri == f"{b}/docs/vpn.html"
    assert b"Install the VPN client" in (vpn.content or b"")
    assert vpn.metadata == {"url": vpn.uri, "host": b.split("//")[1], "path": "/docs/vpn.html"}
    assert run.records[f"{b}/"].filename == "page.html"
    assert run.records[f"{b}/docs/notes.txt"].filename == "notes.txt"
    assert not run.deleted and not run.failed
    assert set(json.loads(run.cursor)["pages"]) == set(run.records)


def test_unchanged_pages_answer_304_and_yield_nothing(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    served = dict(site.served)
    again = Run(c.changes(first.cursor))
    assert not again.records and not again.deleted and not again.failed
    for path in ("/docs/vpn.html", "/docs/expenses.html", "/", "/docs/new.html"):
        assert site.hits[path] >= 2, path  # asked again ...
        assert site.served[path] == served[path], path  # ... and answered 304: no body sent
    # the Last-Modified-only page too, through If-Modified-Since
    assert site.served["/docs/leave.html"] == served["/docs/leave.html"]
    leave = [h for h in site.headers if h["path"] == "/docs/leave.html"]
    assert "if-modified-since" in leave[-1] and "if-none-match" not in leave[-1]


def test_a_page_changes_one_disappears_one_is_gone(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    b = site.base
    site.html("/docs/vpn.html", "VPN setup", "The VPN now needs a hardware key.")
    del site.pages["/docs/expenses.html"]  # 404
    site.gone.add("/docs/leave.html")  # 410
    run = Run(c.changes(first.cursor))
    assert set(run.records) == {f"{b}/docs/vpn.html"}
    assert b"hardware key" in (run.records[f"{b}/docs/vpn.html"].content or b"")
    new_version = run.records[f"{b}/docs/vpn.html"].version
    assert new_version != first.records[f"{b}/docs/vpn.html"].version
    assert run.deleted == {f"{b}/docs/expenses.html", f"{b}/docs/leave.html"}
    assert set(json.loads(run.cursor)["pages"]) == set(first.records) - run.deleted


def test_a_page_that_starts_redirecting_is_deleted_and_found_at_its_target(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    b = site.base
    site.html("/docs/vpn2.html", "VPN setup", "Install the VPN client and sign in with your badge.")
    site.redirects["/docs/vpn.html"] = "/docs/vpn2.html"
    run = Run(c.changes(first.cursor))
    assert run.deleted == {f"{b}/docs/vpn.html"}
    assert set(run.records) == {f"{b}/docs/vpn2.html"}
    again = Run(c.changes(run.cursor))
    assert not again.records and not again.deleted


def test_prefixes_and_max_pages_limit_the_crawl(site: Site) -> None:
    b = site.base
    c = web(site, start_urls=[b + "/docs/vpn.html"], prefixes=[b + "/docs/"])
    run = Run(c.changes(None))
    assert f"{b}/" not in run.records and site.hits["/"] == 0
    assert f"{b}/docs/expenses.html" in run.records
    site.hits.clear()
    small = Run(web(site, max_pages=2).changes(None))
    assert len(small.records) == 2
    pages = sum(n for p, n in site.hits.items() if p not in ("/robots.txt", "/sitemap.xml"))
    assert pages == 2


def test_robots_change_deletes_a_known_page(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    site.pages["/robots.txt"].body += "Disallow: /docs/leave.html\n"
    run = Run(web(site).changes(first.cursor))
    assert run.deleted == {f"{site.base}/docs/leave.html"}


def test_noindex_and_owner_rules(site: Site) -> None:
    site.pages["/docs/expenses.html"].body = site.pages["/docs/expenses.html"].body.replace(
        "<head>", '<head><meta name="robots" content="noindex">'
    )
    owners = {"*": ["*"], "docs/**": ["group:staff"], "docs/leave.html": ["group:hr"]}
    run = Run(web(site, owners=owners).changes(None))
    b = site.base
    assert f"{b}/docs/expenses.html" not in run.records
    assert run.records[f"{b}/"].acl == ["*"]
    assert run.records[f"{b}/docs/vpn.html"].acl == ["group:staff"]
    assert run.records[f"{b}/docs/leave.html"].acl == ["group:hr"]


def test_polite_delay_spaces_requests(site: Site) -> None:
    start = time.monotonic()
    Run(web(site, delay=0.1, max_pages=3).changes(None))
    # robots.txt, the sitemap and 3 pages: 4 gaps of at least 0.1 s
    assert time.monotonic() - start >= 0.4


def test_a_server_error_or_redirect_loop_fails_that_page_alone(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    b = site.base
    site.broken.add("/docs/vpn.html")
    site.redirects["/docs/leave.html"] = "/docs/leave.html"  # a redirect loop
    site.html("/docs/expenses.html", "Expenses", "Submit expenses within ten days.")
    run = Run(c.changes(first.cursor))
    assert run.failed == {
        f"{b}/docs/vpn.html": "HTTP 500",
        f"{b}/docs/leave.html": "more than 10 redirects",
    }
    assert set(run.records) == {f"{b}/docs/expenses.html"} and not run.deleted
    assert f"{b}/docs/vpn.html" in json.loads(run.cursor)["pages"]  # asked again next time


def test_robots_outage_stops_the_run_and_bad_settings_are_typed(site: Site) -> None:
    c = web(site)
    first = Run(c.changes(None))
    del site.pages["/robots.txt"]
    Run(c.changes(first.cursor))  # a missing robots.txt allows everything
    with pytest.raises(SourceConfigError, match="start_urls"):
        WebConnector("x", {}, {})
    with pytest.raises(SourceConfigError, match="not an http"):
        WebConnector("x", {"start_urls": ["ftp://x/"]}, {})
    dead = WebConnector("x", {"start_urls": ["http://127.0.0.1:9/"], "timeout": 2}, {})
    with pytest.raises(ConnectorError, match=r"robots\.txt"):
        list(dead.changes(None))


def test_narrowing_prefixes_deletes_pages_outside_them(site: Site) -> None:
    first = Run(web(site).changes(None))
    b = site.base
    run = Run(web(site, prefixes=[b + "/docs/"]).changes(first.cursor))
    assert run.deleted == {f"{b}/"}
    assert not run.records  # the rest answered 304


def test_a_declared_charset_is_transcoded_for_the_loaders(site: Site) -> None:
    site.pages["/docs/cafe.html"] = Page(
        "<html><head><title>Caf\u00e9</title></head><body><p>Caf\u00e9 cr\u00e8me</p></body></html>",
        "text/html; charset=iso-8859-1",
        encoding="iso-8859-1",
    )
    run = Run(web(site, start_urls=[site.base + "/docs/cafe.html"]).changes(None))
    assert (
        "Caf\u00e9 cr\u00e8me"
        in (run.records[f"{site.base}/docs/cafe.html"].content or b"").decode()
    )


def test_a_cursor_of_another_kind_is_a_typed_error(site: Site) -> None:
    with pytest.raises(ConnectorError, match="not a web cursor"):
        list(web(site).changes('{"commit": "abc"}'))


def test_sitemap_index_gzip_and_link_rules() -> None:
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc> http://h/a </loc></url></urlset>"
    )
    assert parse_sitemap(gzip.compress(urlset)) == (["http://h/a"], [])
    index = b"<sitemapindex><sitemap><loc>http://h/s1.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index) == ([], ["http://h/s1.xml"])
    with pytest.raises(ValueError, match="not a sitemap"):
        parse_sitemap(b"<html></html>")
    html = (
        '<base href="/docs/"><a href="a.html#x">a</a><a rel="nofollow" href="b.html">b</a>'
        '<a href="javascript:void(0)">j</a><a href="HTTP://H:80/c">c</a>'
    )
    assert page_links(html, "http://h/x/y.html") == (
        ["http://h/docs/a.html", "http://h/c"],
        False,
        False,
    )
    meta = '<meta name="robots" content="noindex, nofollow"><a href="/z">z</a>'
    assert page_links(meta, "http://h/") == ([], True, True)
    assert normalize("https://H:443") == "https://h/" and normalize("ftp://h/") is None


def test_a_sitemap_on_another_host_is_never_requested(site: Site) -> None:
    with serve(Site()) as other:
        other.pages["/sitemap.xml"] = Page("<urlset></urlset>", "application/xml")
        site.pages["/robots.txt"].body += f"Sitemap: {other.base}/sitemap.xml\n"
        c = WebConnector("wiki", {"start_urls": [site.base + "/"], "delay": 0}, {"token": "s3cret"})
        run = Run(c.changes(None))
        assert other.hits["/sitemap.xml"] == 0 and len(run.records) == 6
        assert all(h.get("authorization") == "Bearer s3cret" for h in site.headers)
