"""GET /v1/api-keys: pagination and filters (API.md §4), tenancy, and no secrets (§9)."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import create_api_key
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant

from worksible_api.db.session import commit
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.models import ApiKey

EXTRA_KEYS = 5


@dataclass(frozen=True)
class KeyRing:
    """A tenant whose keys, oldest first, are its own key and EXTRA_KEYS more."""

    tenant: Tenant
    keys: list[ApiKey]
    secrets: list[str]

    @property
    def newest_first(self) -> list[str]:
        return [str(key.id) for key in reversed(self.keys)]


@pytest.fixture
async def ring(app: FastAPI, tenant: Tenant) -> KeyRing:
    keys, secrets = [tenant.api_key], [tenant.key]
    for _ in range(EXTRA_KEYS):
        api_key, secret = await create_api_key(app, tenant.organization, scopes=["company:read"])
        keys.append(api_key)
        secrets.append(secret)
    # The order assertions rely on creation order being created_at order.
    stamps = [key.created_at for key in keys]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    return KeyRing(tenant, keys, secrets)


def _query(link: str) -> dict[str, list[str]]:
    parts = urlsplit(link)
    assert parts.path == "/v1/api-keys"
    assert (parts.scheme, parts.netloc) == ("", ""), link
    return parse_qs(parts.query, keep_blank_values=True)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: str | int) -> dict[str, Any]:
    response = await client.get("/v1/api-keys", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _walk(client: httpx.AsyncClient, tenant: Tenant, first: str) -> list[dict[str, Any]]:
    """Every page from `first`, following `next` links."""
    pages: list[dict[str, Any]] = []
    link: str | None = first
    while link is not None:
        response = await client.get(link, headers=tenant.headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        link = pages[-1]["next"]
        assert len(pages) <= 20, "next links never end"
    return pages


class TestListApiKeys:
    async def test_default_page(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        body = await _list(client, ring.tenant)
        assert body["count"] == EXTRA_KEYS + 1
        assert body["next"] is None
        assert body["previous"] is None
        assert [item["id"] for item in body["results"]] == ring.newest_first

    async def test_item_shape(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        body = await _list(client, ring.tenant, page_size=1)
        item = body["results"][0]
        newest = ring.keys[-1]
        assert item["id"] == str(newest.id)
        assert item["object"] == "api_key"
        assert item["prefix"] == f"wsk_live_{newest.key_id}"
        assert ring.secrets[-1].startswith(item["prefix"] + "_")
        assert item["scopes"] == ["company:read"]
        assert item["status"] == "active"
        assert item["revoked_at"] is None
        for field in ("created_at", "updated_at", "expires_at"):
            assert TIMESTAMP.fullmatch(item[field]), item[field]

    async def test_pages_and_links(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        first = await _list(client, ring.tenant, page_size=2)
        assert first["count"] == EXTRA_KEYS + 1
        assert len(first["results"]) == 2
        assert first["previous"] is None
        assert _query(first["next"]) == {"page": ["2"], "page_size": ["2"]}

        second = (await client.get(first["next"], headers=ring.tenant.headers)).json()
        assert second["count"] == EXTRA_KEYS + 1
        assert _query(second["previous"]) == {"page": ["1"], "page_size": ["2"]}
        assert _query(second["next"]) == {"page": ["3"], "page_size": ["2"]}

        last = (await client.get(second["next"], headers=ring.tenant.headers)).json()
        assert last["next"] is None
        assert _query(last["previous"]) == {"page": ["2"], "page_size": ["2"]}

        previous = (await client.get(second["previous"], headers=ring.tenant.headers)).json()
        assert previous == first

    @pytest.mark.parametrize("page_size", [1, 2, 4, 5, 6, 200])
    async def test_newest_first_and_stable_across_pages(
        self, client: httpx.AsyncClient, ring: KeyRing, page_size: int
    ) -> None:
        pages = await _walk(client, ring.tenant, f"/v1/api-keys?page_size={page_size}")
        ids = [item["id"] for page in pages for item in page["results"]]
        assert ids == ring.newest_first
        assert len(pages) == -(-len(ring.keys) // page_size)
        assert all(page["count"] == len(ring.keys) for page in pages)
        assert all(len(page["results"]) <= page_size for page in pages)

    async def test_ties_on_created_at_are_broken_by_id(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # Keys made in one transaction share created_at (PostgreSQL's now()).
        async with app.state.sessionmaker() as session:
            service = ApiKeyService(
                session,
                tenant.organization.id,
                app.state.key_verifier,
                actor=OPERATOR,
            )
            twins = [(await service.create(ApiKeyCreate(name=f"twin {i}")))[0] for i in range(4)]
            await commit(session)
        assert len({twin.created_at for twin in twins}) == 1
        pages = await _walk(client, tenant, "/v1/api-keys?page_size=1")
        ids = [item["id"] for page in pages for item in page["results"]]
        assert len(ids) == len(set(ids)) == 5
        twin_ids = ids[:4]
        assert set(twin_ids) == {str(twin.id) for twin in twins}
        assert twin_ids in (sorted(twin_ids), sorted(twin_ids, reverse=True))
        assert ids[4] == str(tenant.api_key.id)
        # Asking again gives the same order.
        again = await _walk(client, tenant, "/v1/api-keys?page_size=1")
        assert [item["id"] for page in again for item in page["results"]] == ids

    async def test_page_past_the_end_is_empty(
        self, client: httpx.AsyncClient, ring: KeyRing
    ) -> None:
        body = await _list(client, ring.tenant, page=5, page_size=2)
        assert body["count"] == EXTRA_KEYS + 1
        assert body["results"] == []
        assert body["next"] is None

    async def test_page_size_200_is_allowed(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        body = await _list(client, ring.tenant, page_size=200)
        assert len(body["results"]) == EXTRA_KEYS + 1

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            pytest.param({"page": "0"}, "page", id="page_0"),
            pytest.param({"page": "-1"}, "page", id="page_negative"),
            pytest.param({"page": "abc"}, "page", id="page_abc"),
            pytest.param({"page": "1.5"}, "page", id="page_float"),
            pytest.param({"page": ""}, "page", id="page_empty"),
            pytest.param({"page_size": "0"}, "page_size", id="page_size_0"),
            pytest.param({"page_size": "201"}, "page_size", id="page_size_201"),
            pytest.param({"page_size": "abc"}, "page_size", id="page_size_abc"),
            pytest.param({"created_gte": "yesterday"}, "created_gte", id="created_gte_bad"),
            pytest.param(
                {"created_lt": "2026-01-01T00:00:00"}, "created_lt", id="created_lt_naive"
            ),
        ],
    )
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/api-keys", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            pytest.param({"created_gte": "0001-01-01T00:00:00+14:00"}, "created_gte", id="min"),
            pytest.param({"created_lt": "9999-12-31T23:59:59-14:00"}, "created_lt", id="max"),
        ],
    )
    async def test_out_of_range_dates_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/api-keys", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors

    async def test_requires_api_keys_read(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(app, tenant.organization, scopes=["company:write"])
        response = await client.get("/v1/api-keys", headers={"Authorization": f"Bearer {key}"})
        assert_problem(response, 403, "insufficient_scope")


class TestListApiKeysCreatedFilters:
    async def test_created_gte(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        since = ring.keys[2].created_at
        body = await _list(client, ring.tenant, created_gte=since.isoformat())
        assert [item["id"] for item in body["results"]] == ring.newest_first[:-2]
        assert body["count"] == len(ring.keys) - 2

    async def test_created_lt(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        until = ring.keys[2].created_at
        body = await _list(client, ring.tenant, created_lt=until.isoformat())
        assert [item["id"] for item in body["results"]] == ring.newest_first[-2:]
        assert body["count"] == 2

    async def test_both_bounds(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        body = await _list(
            client,
            ring.tenant,
            created_gte=ring.keys[1].created_at.isoformat(),
            created_lt=ring.keys[4].created_at.isoformat(),
        )
        assert [item["id"] for item in body["results"]] == [
            str(key.id) for key in reversed(ring.keys[1:4])
        ]

    async def test_zulu_timestamps(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        body = await _list(client, ring.tenant, created_gte="2000-01-01T00:00:00Z")
        assert body["count"] == len(ring.keys)
        body = await _list(client, ring.tenant, created_lt="2000-01-01T00:00:00Z")
        assert body["count"] == 0
        assert body["results"] == []

    async def test_links_keep_filters_and_page_size(
        self, client: httpx.AsyncClient, ring: KeyRing
    ) -> None:
        since = ring.keys[1].created_at.isoformat()
        until = ring.keys[5].created_at.isoformat()
        first = await _list(client, ring.tenant, created_gte=since, created_lt=until, page_size=2)
        assert first["count"] == 4
        expected = {"created_gte": [since], "created_lt": [until], "page_size": ["2"]}
        assert _query(first["next"]) == {**expected, "page": ["2"]}

        pages = [first, *await _walk(client, ring.tenant, first["next"])]
        assert len(pages) == 2
        assert _query(pages[1]["previous"]) == {**expected, "page": ["1"]}
        ids = [item["id"] for page in pages for item in page["results"]]
        assert ids == [str(key.id) for key in reversed(ring.keys[1:5])]


class TestApiKeyTenancy:
    async def test_another_tenants_keys_are_never_listed(
        self, client: httpx.AsyncClient, ring: KeyRing, other_tenant: Tenant
    ) -> None:
        theirs = await _list(client, other_tenant, page_size=200)
        assert theirs["count"] == 1
        assert [item["id"] for item in theirs["results"]] == [str(other_tenant.api_key.id)]
        mine = await _list(client, ring.tenant, page_size=200)
        assert str(other_tenant.api_key.id) not in {item["id"] for item in mine["results"]}

    async def test_another_tenants_key_is_404(
        self, client: httpx.AsyncClient, ring: KeyRing, other_tenant: Tenant
    ) -> None:
        response = await client.get(f"/v1/api-keys/{ring.keys[1].id}", headers=other_tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_filters_do_not_cross_tenants(
        self, client: httpx.AsyncClient, ring: KeyRing, other_tenant: Tenant
    ) -> None:
        body = await _list(client, other_tenant, created_gte="2000-01-01T00:00:00Z")
        assert body["count"] == 1


class TestSecretNeverShown:
    async def test_not_in_list(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        response = await client.get("/v1/api-keys?page_size=200", headers=ring.tenant.headers)
        assert response.status_code == 200
        self._assert_no_secret(response, ring)
        for item in response.json()["results"]:
            assert "key" not in item
            assert "secret_hash" not in item

    async def test_not_in_get(self, client: httpx.AsyncClient, ring: KeyRing) -> None:
        for api_key in ring.keys:
            response = await client.get(f"/v1/api-keys/{api_key.id}", headers=ring.tenant.headers)
            assert response.status_code == 200
            assert response.json()["id"] == str(api_key.id)
            assert "key" not in response.json()
            self._assert_no_secret(response, ring)

    @staticmethod
    def _assert_no_secret(response: httpx.Response, ring: KeyRing) -> None:
        assert "argon2" not in response.text
        for full_key in ring.secrets:
            secret = full_key.rsplit("_", 1)[1]
            assert secret not in response.text
