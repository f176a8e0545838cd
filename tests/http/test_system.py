from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database


def test_healthz_checks_the_database(client: TestClient, database: Database) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'adunion_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    )


def test_openapi_has_stable_operation_ids(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"sign_up", "log_in", "get_me", "create_token", "revoke_token", "health"} <= ids


def test_api_reference_uses_only_local_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)=["\']([^"\']+)', page.text)
    assert "/static/api-docs/swagger-ui-bundle.js" in sources
    assert "/static/api-docs/swagger-ui.css" in sources
    assert not [url for url in sources if "//" in url]  # nothing from another host
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert "/static/swagger-init.js" in sources  # Swagger UI starts from a file (the CSP)
    assert "SwaggerUIBundle(" in client.get("/static/swagger-init.js").text
    script = client.get("/static/api-docs/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert (
        client.get("/static/api-docs/swagger-ui.css").headers["content-type"].startswith("text/css")
    )
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg")


def test_api_errors_share_one_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.put("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_page_for_browsers_and_json_for_the_api(
    app: FastAPI, client: TestClient
) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-page", broken)
    app.add_api_route("/api/v1/broken", broken)
    page = client.get("/broken-page", headers={"accept": "text/html"})
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "internal error; it has been logged" in page.text and "a bug" not in page.text
    api = client.get("/api/v1/broken", headers={"accept": "text/html"})
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
