"""API.md §7: Deprecation, Sunset and Link on deprecated operations; 410 after the sunset."""

from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.factories.tenants import Tenant

from worksible_api.deprecations import DEPRECATIONS, Deprecation
from worksible_api.middleware.deprecation import DeprecationMiddleware


class TestCompanyAlias:
    async def test_answers_like_companies_me_with_the_headers(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        alias = await client.get("/v1/company", headers=tenant.headers)
        current = await client.get("/v1/companies/me", headers=tenant.headers)
        assert alias.status_code == 200
        assert alias.json() == current.json()
        (deprecation,) = DEPRECATIONS
        assert alias.headers["deprecation"] == f"@{int(deprecation.deprecated_at.timestamp())}"
        assert parsedate_to_datetime(alias.headers["sunset"]) == deprecation.sunset_at
        base = "http://127.0.0.1:8000"  # PUBLIC_BASE_URL's default, as the tests run
        assert alias.headers["link"].startswith(f"<{base}/changelog#2026-11-01-company-alias>")
        assert 'rel="deprecation"' in alias.headers["link"]
        assert "deprecation" not in current.headers

    async def test_errors_carry_the_headers_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/company")
        assert response.status_code == 401
        assert "sunset" in response.headers

    async def test_is_marked_deprecated_in_openapi(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        assert document["paths"]["/v1/company"]["get"]["deprecated"] is True


def _app(now: datetime) -> DeprecationMiddleware:
    async def old(_: object) -> JSONResponse:
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/v1/old", old)])
    registry = [
        Deprecation(
            method="GET",
            path="/v1/old",
            announced_on=date(2025, 1, 1),
            sunset_on=date(2026, 1, 1),
            replacement="GET /v1/new",
            changelog_anchor="old",
        )
    ]
    return DeprecationMiddleware(
        inner, deprecations=registry, clock=lambda: now, public_base_url="https://api.example"
    )


class TestSunset:
    async def test_before_the_sunset_it_still_works(self) -> None:
        app = _app(datetime(2026, 1, 1, tzinfo=UTC) - timedelta(seconds=1))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/v1/old")
        assert response.status_code == 200
        assert response.headers["sunset"] == "Thu, 01 Jan 2026 00:00:00 GMT"

    async def test_after_the_sunset_it_is_410_gone(self) -> None:
        app = _app(datetime(2026, 1, 1, tzinfo=UTC))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/v1/old")
        assert response.status_code == 410
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "gone"
        assert "GET /v1/new" in response.json()["detail"]
        assert response.headers["deprecation"] == "@1735689600"

    async def test_other_methods_on_the_path_are_untouched(self) -> None:
        app = _app(datetime(2027, 1, 1, tzinfo=UTC))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.post("/v1/old")
        assert response.status_code == 405
        assert "deprecation" not in response.headers
