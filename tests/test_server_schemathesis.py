"""Property-based API testing with schemathesis: no generated request gets a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from latentsearch.server import Settings, create_app
from serverkit import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    index = tmp_path_factory.mktemp("schemathesis") / "index"
    index.mkdir()
    keys = build(index, None)
    app = create_app(Settings(index=index, device="cpu"))
    with TestClient(app):  # runs the lifespan: opens the store and loads the model
        yield app, keys


@pytest.fixture(scope="module")
def api_schema(served):
    return schemathesis.openapi.from_asgi("/openapi.json", served[0])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, served) -> None:
    _, keys = served
    for key in (keys.admin, keys.bob):
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    assert case.call().status_code < 500  # and without a key
