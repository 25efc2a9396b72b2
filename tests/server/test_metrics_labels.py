"""Defect 5: /metrics labels take values from bounded sets, whatever methods and paths clients send."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

from fastapi.testclient import TestClient
from serverkit import build

from latentsearch.server import Settings, create_app

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

_SAMPLE = re.compile(r"^latentsearch_http_requests_total\{(.*)\} ", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _label_sets(text: str) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(_LABEL.findall(m))) for m in _SAMPLE.findall(text)}


def _junk(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


def test_random_methods_and_paths_do_not_grow_the_label_set(index_path: Path) -> None:
    keys = build(index_path, None)
    auth = {"Authorization": f"Bearer {keys.alice}"}
    rng = random.Random(5)
    app = create_app(Settings(index=index_path, device="cpu"))
    with TestClient(app, raise_server_exceptions=False) as c:

        def burst(n: int) -> None:
            for _ in range(n):
                method = _junk(rng, rng.randint(3, 12)).upper()
                path = f"/{_junk(rng, 8)}/{_junk(rng, 5)}"
                c.request(method, path, headers=auth)
                c.request(method, "/collections/docs/search", headers=auth)
                c.get(f"/collections/docs/items/{_junk(rng, 10)}", headers=auth)
                c.get(path, headers=auth)

        burst(50)
        first = _label_sets(c.get("/metrics", headers=auth).text)
        burst(150)
        after = _label_sets(c.get("/metrics", headers=auth).text)
    assert first, "no request samples in /metrics"
    # 600 more random methods and paths added no new series beyond the /metrics call itself.
    assert len(after - first) <= 1, sorted(after - first)
    routes = set(app.openapi()["paths"]) | {"/", "/static", "unmatched"}
    for labels in after:
        d = dict(labels)
        assert d["method"] in METHODS | {"OTHER"}, d
        # route templates as Starlette writes them ({item_id:path}); OpenAPI drops the converter
        assert re.sub(r":\w+}", "}", d["route"]) in routes, (d, sorted(routes))
        assert re.fullmatch(r"[1-5]\d\d|other", d["status"]), d
    assert len(after) <= len(routes) * (len(METHODS) + 1) * 10
