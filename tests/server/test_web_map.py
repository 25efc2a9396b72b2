"""The page's Map view in a real headless Chromium (Debian's `chromium`, driven by Playwright).

For each of two keys the map draws exactly the key's visible items (never a point of the other
key's private ones); clicking a point opens its item; a query draws its point and rings its
hits; an expression draws the path of its terms; a region selection filters the result list; the
slider walks between two picked items. Screenshots go to test-artifacts/ (or
$LATENTSEARCH_ARTIFACTS); the test prints where.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from serverkit import CORPUS, ENG, PRIVATE, SALES, build, serve

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
PUBLIC = {r["id"] for r in CORPUS if r["acl"] == ["*"]}
# The map points of the listed results: a listed item, or a chunk of a listed document.
HIT_POINTS = """(() => {
  const ids = new Set([...document.querySelectorAll('#results li[data-id]')].map(e => e.dataset.id));
  return window.mapView.data.points.filter(p => ids.has(p.id) || (p.parent && ids.has(p.parent))).map(p => p.id);
})()"""
PARENTS = "[...window.mapView.map.selected].map(id => window.mapView.data.points.find(p => p.id === id).parent)"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `apt-get install -y chromium` (see docs/server.md)")
    index = tmp_path_factory.mktemp("mappage") / "index"
    index.mkdir()
    keys = build(index, None)
    with serve(index) as url:
        yield url, keys


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = b.new_page(viewport={"width": 1500, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(site[0])
        try:
            yield pg
        finally:
            b.close()
        assert not errors, errors


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def use_key(page, key: str, user: str) -> None:
    page.fill("#api-key", key)
    page.click("#use-key")
    page.wait_for_function(f"document.querySelector('#whoami').textContent.startsWith('{user} ')")
    page.wait_for_function("document.querySelectorAll('#collection option').length > 0")
    page.select_option("#collection", "docs")
    page.wait_for_function("window.mapView.name === 'docs'")


def drawn(page, n: int) -> set[str]:
    """Wait for the map to draw ``n`` points; the ids of the points it holds."""
    page.wait_for_function(
        f"document.querySelector('#map-canvas canvas').dataset.points === '{n}'", timeout=120_000
    )
    return set(page.evaluate("window.mapView.map.points.map(p => p.id)"))


def click_point(page, item_id: str) -> None:
    at = page.evaluate(f"window.mapView.map.screenOf({item_id!r})")
    box = page.locator("#map-canvas canvas").bounding_box()
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])


def search(page, text: str) -> None:
    page.evaluate("document.querySelector('#status').textContent = ''")
    page.fill("#query", text)
    page.click("#go")
    page.wait_for_function("document.querySelector('#status').textContent.includes('result')")


def test_the_map_view(page, site) -> None:
    _, keys = site
    use_key(page, keys.alice, "alice")
    page.click("#map-toggle")
    alice = PRIVATE[ENG] | PUBLIC
    assert drawn(page, len(alice)) == alice
    assert page.evaluate("window.mapView.map.stats().points") == len(alice)
    page.wait_for_function("document.querySelector('#map-status').textContent.includes('point(s)')")
    shot(page, "map-view-alice.png")

    # clicking a point opens its item
    click_point(page, "eng-vpn")
    page.wait_for_selector("#map-item[data-id='eng-vpn'] h4")
    page.wait_for_function(
        "document.querySelector('#map-item h4').textContent === 'VPN outage runbook'"
    )

    # a query draws its point and rings its hits (the visible ones on the map)
    search(page, "vpn outage")
    page.wait_for_function("window.mapView.map.overlay.query !== null")
    rings = set(page.evaluate("[...window.mapView.map.overlay.rings]"))
    # the results' items (or documents: a list may show one entry per document) on the map
    assert rings and rings == set(page.evaluate(HIT_POINTS)) and rings <= alice
    assert page.get_attribute("#map-canvas canvas", "data-rings") == str(len(rings))
    shot(page, "map-view-query.png")

    # an expression draws the path of its terms
    search(page, '"vpn outage" - "windows"')
    page.wait_for_function(
        "window.mapView.map.overlay.path && window.mapView.map.overlay.path.length === 2"
    )
    # hovering a ringed hit of an expression shows its `why` (each term's similarity)
    page.wait_for_function("window.mapView.map.overlay.why !== null")
    ringed = page.evaluate("[...window.mapView.map.overlay.rings]")
    why = page.evaluate("window.mapView.map.overlay.why")
    target = next(i for i in ringed if i in why)
    at = page.evaluate(f"window.mapView.map.screenOf({target!r})")
    box = page.locator("#map-canvas canvas").bounding_box()
    page.mouse.move(box["x"] + at["x"], box["y"] + at["y"])
    page.wait_for_function(
        "document.querySelector('.lmap-tip .lmap-why')?.textContent.startsWith('why: ')"
    )
    assert "vpn outage" in page.text_content(".lmap-tip .lmap-why")
    shot(page, "map-view-expression.png")

    # a region around one point filters the result list to it
    at = page.evaluate("window.mapView.map.screenOf('eng-vpn')")
    box = page.locator("#map-canvas canvas").bounding_box()
    x, y = box["x"] + at["x"], box["y"] + at["y"]
    page.click("#map-select")
    page.mouse.move(x - 4, y - 4)
    page.mouse.down()
    page.mouse.move(x + 4, y + 4, steps=4)
    page.mouse.up()
    page.wait_for_function("window.mapView.map.selected !== null")
    selected = set(page.evaluate("[...window.mapView.map.selected]"))
    assert "eng-vpn" in selected
    shown = page.eval_on_selector_all(
        "#results > li.hit:not(.map-outside)", "els => els.map(e => e.dataset.id)"
    )
    inside = selected | {p for p in page.evaluate(PARENTS) if p}
    assert set(shown) <= inside and len(shown) < len(page.query_selector_all("#results > li.hit"))
    page.click("#map-select")
    page.click("#map-clear")

    # the slider walks between two picked items
    click_point(page, "eng-vpn")
    page.wait_for_selector("#map-item[data-id='eng-vpn'] button")
    page.click("#map-item button:text('Use as A')")
    click_point(page, "pub-holidays")
    page.wait_for_selector("#map-item[data-id='pub-holidays'] button")
    page.click("#map-item button:text('Use as B')")
    page.fill("#map-slider", "50")
    page.dispatch_event("#map-slider", "input")
    page.wait_for_function("document.querySelector('#map-nearest').textContent.includes('nearest')")
    assert page.evaluate("window.mapView.map.overlay.marker") is not None
    shot(page, "map-view-interpolation.png")

    # another key: its own visible items, never alice's private ones
    use_key(page, keys.bob, "bob")
    bob = PRIVATE[SALES] | PUBLIC
    assert drawn(page, len(bob)) == bob
    assert not drawn(page, len(bob)) & PRIVATE[ENG]
    shot(page, "map-view-bob.png")
    page.evaluate("window.mapView.map.colorBy('team')")
    assert page.evaluate("window.mapView.map.stats().legend") == 3  # sales, hr, it

    # a search made while the map is hidden is drawn when it opens; bob's hits only
    page.click("#map-toggle")
    search(page, "vpn outage")
    page.click("#map-toggle")
    page.wait_for_function("window.mapView.map.overlay.rings.size > 0")
    assert set(page.evaluate("[...window.mapView.map.overlay.rings]")) <= bob
