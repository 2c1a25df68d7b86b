"""Swagger UI at /docs and /api/docs/ with no internet access (API.md §9)."""

import hashlib
import json
import re
from typing import Any

import httpx
import pytest

from worksible_api.swagger_ui import ASSETS_DIR, swagger_ui_version


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads((ASSETS_DIR / "SOURCE.json").read_text())
    return recorded


class TestAssets:
    def test_vendored_from_swagger_ui_dist_5(self, source: dict[str, Any]) -> None:
        assert source["package"] == "swagger-ui-dist"
        assert swagger_ui_version().startswith("5.")
        assert source["integrity"].startswith("sha512-")

    def test_files_are_what_the_script_extracted(self, source: dict[str, Any]) -> None:
        # Edited by hand, they would no longer match: rerun scripts/vendor_assets.py.
        for name, digest in source["sha256"].items():
            assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name
        assert {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"} <= set(
            source["sha256"]
        )

    @pytest.mark.parametrize(
        ("name", "media_type"),
        [
            ("swagger-ui-bundle.js", "text/javascript"),
            ("swagger-ui.css", "text/css"),
            ("favicon-32x32.png", "image/png"),
        ],
    )
    async def test_served_by_the_service(
        self, client: httpx.AsyncClient, name: str, media_type: str
    ) -> None:
        response = await client.get(f"/static/swagger-ui/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        assert response.content == (ASSETS_DIR / name).read_bytes()


class TestPage:
    @pytest.mark.parametrize("path", ["/docs", "/api/docs/"])
    async def test_loads_only_local_assets(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert sources
        assert all(source.startswith("/static/swagger-ui/") for source in sources), sources
        assert "url: '/openapi.json'" in page
        # A key pasted into "Authorize" must not outlive the tab in the browser's storage.
        assert '"persistAuthorization": false' in page

    async def test_needs_no_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/docs", headers={"Authorization": "Bearer nope"})).is_success

    async def test_pages_are_not_operations(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        assert not {"/docs", "/api/docs/", "/api/schema/"} & document["paths"].keys()
