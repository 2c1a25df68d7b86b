"""Keyset paging of the default order (issue 20): `starting_after` chains deep pages by the id
of the last object seen, beside `page`, with the same rows, filters and count."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories.freelancers import create_freelancer
from tests.factories.http import assert_validation_error, result_ids
from tests.factories.tenants import Tenant
from tests.test_sync import read_all, top_level_lists

FREELANCERS = "/v1/freelancers"


async def by_page_number(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]
) -> list[str]:
    ids: list[str] = []
    page = 1
    while True:
        answer = await client.get(
            FREELANCERS, params={**params, "page": page}, headers=tenant.headers
        )
        assert answer.status_code == 200, answer.text
        ids += result_ids(answer.json())
        if answer.json()["next"] is None:
            return ids
        page += 1


class TestStartingAfter:
    async def test_walks_the_same_rows_as_page_numbers(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for _ in range(7):
            await create_freelancer(app, tenant.organization)
        expected = await by_page_number(client, tenant, {"page_size": 2})
        first = await client.get(FREELANCERS, params={"page_size": 2}, headers=tenant.headers)
        start = first.json()["results"][-1]["id"]
        link = f"{FREELANCERS}?page_size=2&starting_after={start}"
        pages = await read_all(client, tenant, link)
        assert [len(page) for page in pages] == [2, 2, 1]
        assert result_ids(first.json()) + [i for page in pages for i in page] == expected

    async def test_keeps_filters_and_counts_every_match(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for country in ("FR", "FR", "FR", "DE"):
            await create_freelancer(app, tenant.organization, country=country)
        expected = await by_page_number(client, tenant, {"country": "FR", "page_size": 1})
        answer = await client.get(
            FREELANCERS,
            params={"country": "FR", "page_size": 1, "starting_after": expected[0]},
            headers=tenant.headers,
        )
        body = answer.json()
        assert body["count"] == 3
        assert result_ids(body) == [expected[1]]
        assert "country=FR" in body["next"]
        assert f"starting_after={expected[1]}" in body["next"]
        assert "page=" not in body["next"]
        assert body["previous"] is None

    async def test_the_last_page_has_no_next(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        freelancers = [await create_freelancer(app, tenant.organization) for _ in range(2)]
        oldest = min(freelancers, key=lambda f: (f.created_at, f.id))
        answer = await client.get(
            FREELANCERS, params={"starting_after": str(oldest.id)}, headers=tenant.headers
        )
        assert answer.json()["results"] == []
        assert answer.json()["next"] is None

    async def test_another_organizations_id_positions_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await create_freelancer(app, tenant.organization)
        theirs = await create_freelancer(app, other_tenant.organization)
        answer = await client.get(
            FREELANCERS, params={"starting_after": str(theirs.id)}, headers=tenant.headers
        )
        problems = assert_validation_error(answer)
        assert ["query", "starting_after"] in [p["loc"] for p in problems]

    async def test_an_object_the_filters_leave_out_positions_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        german = await create_freelancer(app, tenant.organization, country="DE")
        answer = await client.get(
            FREELANCERS,
            params={"country": "FR", "starting_after": str(german.id)},
            headers=tenant.headers,
        )
        assert_validation_error(answer)

    @pytest.mark.parametrize(
        ("params", "where"),
        [
            ({"starting_after": "not-an-id"}, "starting_after"),
            ({"starting_after": "0195f3a2-8c1e-7d4b-9a6f-3e2d1c0b9a87"}, "starting_after"),
            ({"starting_after": "x", "order": "updated_at"}, "starting_after"),
            ({"starting_after": "x", "page": "2"}, "page"),
        ],
    )
    async def test_a_bad_combination_is_422_naming_it(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], where: str
    ) -> None:
        answer = await client.get(FREELANCERS, params=params, headers=tenant.headers)
        problems = assert_validation_error(answer)
        assert ["query", where] in [problem["loc"] for problem in problems], problems


async def test_every_list_takes_it(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Each top-level list refuses an id it does not hold, so each one reads the parameter."""
    for path in top_level_lists(app):
        answer = await client.get(
            path,
            params={"starting_after": "0195f3a2-8c1e-7d4b-9a6f-3e2d1c0b9a87"},
            headers=tenant.headers,
        )
        if answer.status_code == 403:
            continue
        assert answer.status_code == 422, (path, answer.text)


async def test_events_page_by_their_own_ids(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for index in range(3):
        body = {
            "email": f"k{index}@example.com",
            "first_name": "A",
            "last_name": "B",
            "country": "DE",
        }
        created = await client.post(FREELANCERS, json=body, headers=tenant.headers)
        assert created.status_code == 201, created.text
    first = await client.get("/v1/events", params={"page_size": 1}, headers=tenant.headers)
    (newest,) = result_ids(first.json())
    assert newest.startswith("evt_")
    pages = await read_all(client, tenant, f"/v1/events?page_size=1&starting_after={newest}")
    assert [len(page) for page in pages] == [1, 1]
    assert len({newest, *(i for page in pages for i in page)}) == 3
