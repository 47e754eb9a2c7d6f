"""Flask serves the built field app at /app/ (no browser needed)."""

from __future__ import annotations

import json
import os

import pytest

from tests.browser.field_helpers import DIST, require_build


@pytest.fixture
def built(app):
    require_build()
    return app


def test_app_shell_is_served_with_the_csp_and_revalidated(built, client):
    response = client.get("/app/")
    assert response.status_code == 200
    assert b'<main id="app"' in response.data
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-cache"


def test_bare_app_path_redirects_to_the_scope(built, client):
    response = client.get("/app")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/app/")


def test_service_worker_is_scoped_to_app_and_never_cached(built, client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/app/"
    assert response.headers["Cache-Control"] == "no-cache"


def test_manifest_is_installable_with_a_maskable_icon(built, client):
    response = client.get("/app/manifest.webmanifest")
    manifest = json.loads(response.data)
    assert manifest["start_url"] == "/app/" and manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert any(i.get("purpose") == "maskable" for i in manifest["icons"])
    for icon in manifest["icons"]:
        assert client.get("/app/" + icon["src"]).status_code == 200


def test_hashed_assets_are_cached_for_a_year(built, client):
    name = next(n for n in os.listdir(os.path.join(DIST, "assets")) if n.endswith(".js"))
    response = client.get(f"/app/assets/{name}")
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]


def test_unknown_file_and_traversal_are_not_found(built, client):
    assert client.get("/app/nothing-here.js").status_code == 404
    assert client.get("/app/../pyproject.toml").status_code == 404
    assert client.get("/app/%2e%2e/pyproject.toml").status_code == 404


def test_an_unbuilt_app_says_how_to_build_it(app, client, tmp_path):
    app.config["FIELDAPP_DIST"] = str(tmp_path / "empty")
    response = client.get("/app/")
    assert response.status_code == 503
    assert "make pwa" in response.get_data(as_text=True)
