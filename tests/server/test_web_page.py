"""The search page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Types a key and a query, sees the expected results, switches keys and sees the ACL-restricted
results change, and keeps screenshots in test-artifacts/ (or $LATENTSEARCH_ARTIFACTS). The result
list shows one entry per document with its passages folded under it, clean snippets of the
Markdown/RST/HTML samples, thumbnails, `why` bars for expressions and labelled scores.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from resultskit import GUIDE_SECRET, MARKUP, build_samples
from serverkit import build, serve

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("LATENTSEARCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("LATENTSEARCH_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


@pytest.fixture(scope="module")
def site(tmp_path_factory, quick_clip_path):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `apt-get install -y chromium` (see docs/server.md)")
    index = tmp_path_factory.mktemp("page") / "index"
    index.mkdir()
    keys = build(index, None, images=quick_clip_path)
    build_samples(index, None)
    with serve(index) as url:
        yield url, keys


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def results(page) -> list[str]:
    page.wait_for_function("document.querySelector('#status').textContent.includes('result')")
    return page.eval_on_selector_all("#results li.hit", "els => els.map(e => e.dataset.id)")


def use_key(page, key: str, user: str) -> None:
    page.fill("#api-key", key)
    page.click("#use-key")
    page.wait_for_function(f"document.querySelector('#whoami').textContent.startsWith('{user} ')")
    page.wait_for_function("document.querySelectorAll('#collection option').length > 0")


def search(page, text: str, mode: str = "hybrid") -> list[str]:
    page.check(f"input[name=mode][value={mode}]")
    page.evaluate("document.querySelector('#status').textContent = ''")
    page.fill("#query", text)
    page.click("#go")
    return results(page)


def test_search_page(site, browser) -> None:
    url, keys = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url)
    use_key(page, keys.alice, "alice")
    assert "alice (eng)" in page.text_content("#whoami")
    assert page.evaluate("sessionStorage.getItem('latentsearch.key')") == keys.alice
    page.select_option("#collection", "docs")
    page.wait_for_selector("#facets input[type=checkbox]")
    alice = search(page, "vpn outage")
    assert alice[0] == "eng-vpn" and "sales-vpn" not in alice and "sales-q3" not in alice
    assert page.inner_text("#results li.hit:first-child mark") in {"VPN", "outage"}
    assert (
        page.get_attribute("#results li.hit:first-child h3 a", "href")
        == "https://wiki.example/eng/vpn"
    )
    page.screenshot(path=str(ARTIFACTS / "search-page-alice.png"), full_page=True)

    use_key(page, keys.bob, "bob")  # switch keys: the same query now shows bob's documents only
    assert "bob (sales)" in page.text_content("#whoami")
    page.select_option("#collection", "docs")
    bob = search(page, "vpn outage")
    assert bob[0] == "sales-vpn" and "eng-vpn" not in bob and "eng-db" not in bob
    assert set(search(page, "wireguard", "keyword")) == set()
    page.screenshot(path=str(ARTIFACTS / "search-page-bob.png"), full_page=True)

    # an expression, and a facet filter
    expr = search(page, '"vpn outage" - "windows"')
    assert expr and "eng-vpn" not in expr
    assert "expression" in page.text_content("#status")
    page.evaluate("document.querySelector('#status').textContent = ''")
    page.check("#facets input[data-field=team][value='\"hr\"']")
    assert set(results(page)) <= {"pub-holidays", "handbook"}  # the chunk's document

    # image items show thumbnails fetched with the key
    page.select_option("#collection", "photos")
    page.wait_for_selector("#facets input[data-field=color]")
    shown = search(page, "a blue square", "dense")
    assert set(shown) == {"blue-square", "green-triangle"}
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(ARTIFACTS / "search-page-images.png"), full_page=True)

    page.click("#forget-key")
    assert page.evaluate("sessionStorage.getItem('latentsearch.key')") is None
    page.close()


def test_a_bad_key_shows_an_error(site, browser) -> None:
    url, _ = site
    page = browser.new_page()
    page.goto(url)
    page.fill("#api-key", "ls_wrong_key")
    page.click("#use-key")
    page.wait_for_function("document.querySelector('#status').className === 'error'")
    assert "invalid or revoked" in page.text_content("#status")
    page.close()


def passages(page, doc_id: str) -> list[str]:
    """The passage ids folded under the entry of ``doc_id`` (shown and collapsed ones)."""
    return page.eval_on_selector_all(
        f'#results li.hit[data-id="{doc_id}"] li.passage', "els => els.map(e => e.dataset.id)"
    )


def test_result_list(site, browser) -> None:
    url, keys = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(url)
    # The first collection's facets answer late, after another collection was picked: the box
    # keeps the picked collection's facets only.
    held: list = []
    page.route("**/collections/docs/facets*", lambda route: held.append(route))
    use_key(page, keys.alice, "alice")
    page.select_option("#collection", "samples")
    page.wait_for_selector("#facets input[data-field=path]")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    with page.expect_response("**/collections/docs/facets*"):
        held[0].continue_()
    page.unroute("**/collections/docs/facets*")
    page.evaluate("new Promise((done) => setTimeout(done, 100))")
    heads = page.eval_on_selector_all("#facets h3", "els => els.map(e => e.textContent)")
    assert sorted(heads) == ["path", "type"], heads

    # one entry per document, its further passages folded under it
    docs = search(page, "vpn disconnects on windows laptops", "hybrid")
    assert len(docs) == len(set(docs)) and docs[0] == "runbooks/vpn-troubleshooting.md"
    vpn = '#results li.hit[data-id="runbooks/vpn-troubleshooting.md"]'
    assert len(passages(page, "runbooks/vpn-troubleshooting.md")) > 1
    assert not page.is_visible(f"{vpn} details.more li.passage")  # folded
    page.click(f"{vpn} details.more summary")
    assert page.is_visible(f"{vpn} details.more li.passage")
    assert page.inner_text(f"{vpn} .meta").count("passages") == 1

    # snippets are clean text, with query terms marked
    snippets = page.eval_on_selector_all("#results .snippet", "els => els.map(e => e.textContent)")
    assert snippets and all(s.strip() for s in snippets)
    assert not [s for s in snippets if any(m in s for m in MARKUP)], snippets
    assert page.is_visible(f"{vpn} .passage:first-child .ellipsis")  # a passage mid-document
    assert page.inner_text(f"{vpn} .passage:first-child mark").lower() in {
        "vpn",
        "windows",
        "laptops",
        "laptop",
        "disconnects",
    }

    # hybrid scores are fused ranks, dense scores similarities; the tooltip says which
    score = f"{vpn} > .doc > .meta .score"
    assert page.inner_text(score) == "#1 fused rank"
    assert page.get_attribute(score, "title").startswith("Hybrid: position after reciprocal-rank")
    page.screenshot(path=str(ARTIFACTS / "result-list-documents.png"), full_page=True)
    search(page, "promote the replica", "dense")
    assert page.get_attribute("#results li.hit:first-child .snippet", "data-format") == "rst"
    label = page.inner_text("#results li.hit:first-child > .doc > .meta .score")
    assert label.startswith("similarity 0.") and 0 < float(label.split()[1]) <= 1
    tip = page.get_attribute("#results li.hit:first-child > .doc > .meta .score", "title")
    assert tip.startswith("Dense: cosine similarity")
    assert page.is_visible("#results li.hit:first-child .meter .fill")
    search(page, "refund annual plans seats", "keyword")
    assert page.inner_text("#results li.hit:first-child > .doc > .meta .score") == "#1 keyword rank"
    assert "product/pricing-faq.html" in results(page)

    # the why of an expression, as one bar per term
    search(page, '"vpn outage" - "windows"')
    rows = page.eval_on_selector_all(
        "#results li.hit:first-child .why-row",
        "els => els.map(e => [e.dataset.term, e.querySelector('.fill').style.width])",
    )
    assert {t for t, _ in rows} == {"vpn outage", "windows"} and all(
        w.endswith("%") for _, w in rows
    )
    page.screenshot(path=str(ARTIFACTS / "result-list-why.png"), full_page=True)

    # a hidden passage never shows under a visible document: bob sees one passage of the guide
    search(page, "parking garage", "hybrid")
    assert sorted(passages(page, "guide")) == ["guide#1", "guide#2"]
    use_key(page, keys.bob, "bob")
    page.select_option("#collection", "samples")
    search(page, "parking garage", "hybrid")
    assert passages(page, "guide") == ["guide#1"]
    assert GUIDE_SECRET not in page.inner_text("#results") and "wireguard" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "result-list-bob.png"), full_page=True)

    # image hits get a server-made thumbnail
    sizes: list[str] = []
    page.on("request", lambda r: sizes.append(r.url) if "/image?" in r.url else None)
    page.select_option("#collection", "photos")
    page.wait_for_selector("#facets input[data-field=color]")
    assert search(page, "a blue square", "dense")
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].length > 0 && "
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert sizes and all("size=192" in u for u in sizes)
    assert page.query_selector_all("#results .passage") == []  # an image has no text passage
    assert page.inner_text("#results li.hit:first-child .score").startswith("similarity ")
    page.screenshot(path=str(ARTIFACTS / "result-list-images.png"), full_page=True)
    page.close()
