"""GET /healthz and GET /readyz (API.md §9, §12), with both servers up."""

import httpx

from tests.factories.http import assert_request_id


class TestHealthz:
    async def test_ok_without_auth(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"status": "ok"}
        assert_request_id(response)

    async def test_ignores_a_bad_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 200


class TestReadyz:
    async def test_ok_with_database_and_redis(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["status"] == "ok"
        assert body["checks"] == {"database": "ok", "redis": "ok"}
        assert_request_id(response)

    async def test_ok_without_auth_header_or_with_a_bad_one(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/readyz", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 200
