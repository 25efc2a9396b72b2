"""``POST /collections/{name}/answer`` on a real `latentsearch serve` process.

The server's generator points at `chat_standin`, a STAND-IN for a real model server that speaks
the chat-completions wire format (no language model runs in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chat_standin import ChatStandIn, chat_standin
from serverkit import ENG, ENG_SECRET, PRIVATE, SALES, SALES_SECRET, Keys, build, serve

QUESTION = "what to do about a VPN outage"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keys, ChatStandIn]]:
    folder: Path = tmp_path_factory.mktemp("answer-route")
    keys = build(folder, None)
    with chat_standin() as model, pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTSEARCH_GENERATOR_URL", model.url)
        mp.setenv("LATENTSEARCH_GENERATOR_MODEL", "stand-in")
        with serve(folder) as url:
            yield url, keys, model


def _post(url: str, key: str | None, path: str, body: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(url + path, json=body, headers=headers, timeout=60)


def test_two_keys_get_different_cards_with_sources(server) -> None:
    url, keys, _ = server
    cards = {}
    for key, own, other, secret in (
        (keys.alice, ENG, SALES, SALES_SECRET),
        (keys.bob, SALES, ENG, ENG_SECRET),
    ):
        r = _post(url, key, "/collections/docs/answer", {"question": QUESTION, "generate": False})
        assert r.status_code == 200, r.text
        card = r.json()
        assert card["generated"] is None and card["generator"] is None and card["took_ms"] >= 0
        docs = {d["id"] for d in card["documents"]}
        assert docs & PRIVATE[own] and not docs & PRIVATE[other]
        assert secret not in r.text.lower()
        first = card["documents"][0]
        assert first["title"] and first["uri"].startswith("https://")
        p = first["passages"][0]
        assert p["number"] == 1 and p["citation"]["doc_id"] == first["id"]
        assert [
            p["citation"]["snippet"][h["start"] : h["end"]] for h in p["citation"]["highlights"]
        ]
        assert card["summary"].endswith("]") and card["sentences"][0]["passage"] >= 1
        cards[key] = docs
    assert cards[keys.alice] != cards[keys.bob]


def test_generator_answers_from_the_callers_passages_only(server) -> None:
    url, keys, model = server
    before = len(model.requests)
    r = _post(url, keys.bob, "/collections/docs/answer", {"question": QUESTION, "k": 5})
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["generator"] == "stand-in" and card["cited"] == [1]
    assert card["generated"].endswith("[1] [99]")
    assert len(model.requests) == before + 1
    prompt = model.prompt()
    assert ENG_SECRET not in prompt.lower() and "VPN outage runbook" not in prompt
    numbers = [p["number"] for d in card["documents"] for p in d["passages"]]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert f"[{n}] " in prompt


def test_same_auth_and_404_as_search(server) -> None:
    url, keys, _ = server
    body = {"question": QUESTION}
    assert _post(url, None, "/collections/docs/answer", body).status_code == 401
    assert _post(url, keys.revoked, "/collections/docs/answer", body).status_code == 401
    missing = _post(url, keys.alice, "/collections/nope/answer", body)
    search = _post(url, keys.alice, "/collections/nope/search", {"text": QUESTION})
    assert missing.status_code == search.status_code == 404
    assert missing.json() == search.json()
    for bad in ({"question": ""}, {"question": "x", "k": 0}, {"question": "x", "extra": 1}):
        assert _post(url, keys.alice, "/collections/docs/answer", bad).status_code == 422
    lone = b'{"question": "vpn \\ud800"}'  # a JSON escape of a lone surrogate
    r = httpx.post(
        url + "/collections/docs/answer",
        content=lone,
        headers={"Authorization": f"Bearer {keys.alice}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 422, r.text


def test_a_failing_generator_is_a_502(server) -> None:
    url, keys, model = server
    model.fail_with = 500
    try:
        r = _post(url, keys.alice, "/collections/docs/answer", {"question": QUESTION})
    finally:
        model.fail_with = None
    assert r.status_code == 502 and "HTTP 500" in r.json()["error"]
