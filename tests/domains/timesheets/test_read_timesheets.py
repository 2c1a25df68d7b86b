"""GET /v1/timesheets and /v1/timesheets/{id} (API.md §4, §9): filters, tenancy, scopes."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.tenants import Tenant
from tests.factories.timesheets import create_timed_timesheet, create_timesheet

from worksible_api.models import Contract, Freelancer, Timesheet


@dataclass(frozen=True)
class Ledger:
    """A tenant's entries, oldest first, over two freelancers, three contracts and dates."""

    tenant: Tenant
    ada: Freelancer
    bob: Freelancer
    contracts: list[Contract]
    entries: list[Timesheet]

    def ids(self, *indexes: int) -> list[str]:
        """Ids of entries[indexes], newest first as lists answer."""
        return [str(self.entries[i].id) for i in sorted(indexes, reverse=True)]


@pytest.fixture
async def ledger(app: FastAPI, tenant: Tenant) -> Ledger:
    organization = tenant.organization
    ada = await create_freelancer(app, organization)
    bob = await create_freelancer(app, organization)
    contracts = [
        await create_contract(app, organization, ada),
        await create_contract(app, organization, ada),
        await create_contract(app, organization, bob),
    ]
    entries = [
        await create_timesheet(app, contracts[0], work_date=date(2026, 3, 1), status="draft"),
        await create_timesheet(app, contracts[0], work_date=date(2026, 3, 2), status="submitted"),
        await create_timesheet(app, contracts[1], work_date=date(2026, 3, 3), status="approved"),
        await create_timesheet(app, contracts[2], work_date=date(2026, 3, 2), status="rejected"),
        await create_timesheet(app, contracts[2], work_date=date(2026, 4, 1), status="approved"),
    ]
    return Ledger(tenant, ada, bob, contracts, entries)


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    response = await client.get("/v1/timesheets", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["results"]]


class TestGetTimesheet:
    async def test_returns_the_entry(
        self, app: FastAPI, client: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        entry = await create_timed_timesheet(
            app,
            ledger.contracts[0],
            "2026-03-05T09:00:00.750",
            "2026-03-05T10:00:00",
        )
        response = await client.get(f"/v1/timesheets/{entry.id}", headers=ledger.tenant.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "timesheet"
        assert body["freelancer_id"] == str(ledger.ada.id)
        assert (body["work_date"], body["minutes"]) == ("2026-03-05", 60)
        # Whole seconds in UTC, as every timestamp is written.
        assert body["started_at"] == "2026-03-05T09:00:00Z"
        assert TIMESTAMP.fullmatch(body["ended_at"])
        assert (body["status"], body["source"], body["clash"]) == ("approved", "api", False)

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000", "1;"])
    async def test_ids_of_any_shape_are_404(
        self, client: httpx.AsyncClient, tenant: Tenant, raw_id: str
    ) -> None:
        response = await client.get(f"/v1/timesheets/{raw_id}", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_another_organizations_entry_is_404(
        self, client: httpx.AsyncClient, ledger: Ledger, other_tenant: Tenant
    ) -> None:
        path = f"/v1/timesheets/{ledger.entries[0].id}"
        assert_problem(await client.get(path, headers=other_tenant.headers), 404, "not_found")


class TestListTimesheets:
    async def test_newest_first(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        assert await _list(client, ledger.tenant) == ledger.ids(0, 1, 2, 3, 4)

    @pytest.mark.parametrize(
        ("status", "indexes"),
        [("draft", [0]), ("submitted", [1]), ("approved", [2, 4]), ("rejected", [3])],
    )
    async def test_status_filter(
        self, client: httpx.AsyncClient, ledger: Ledger, status: str, indexes: list[int]
    ) -> None:
        assert await _list(client, ledger.tenant, status=status) == ledger.ids(*indexes)

    async def test_contract_filter(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        found = await _list(client, ledger.tenant, contract_id=str(ledger.contracts[0].id))
        assert found == ledger.ids(0, 1)

    async def test_freelancer_filter(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        found = await _list(client, ledger.tenant, freelancer_id=str(ledger.ada.id))
        assert found == ledger.ids(0, 1, 2)

    async def test_work_date_range(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        found = await _list(
            client, ledger.tenant, work_date_gte="2026-03-02", work_date_lt="2026-03-03"
        )
        assert found == ledger.ids(1, 3)
        assert await _list(client, ledger.tenant, work_date_gte="2026-03-03") == ledger.ids(2, 4)
        assert await _list(client, ledger.tenant, work_date_lt="2026-03-02") == ledger.ids(0)

    async def test_filters_combine_and_links_keep_them(
        self, client: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        params = {"freelancer_id": str(ledger.bob.id), "work_date_gte": "2026-03-01"}
        response = await client.get(
            "/v1/timesheets", params={**params, "page_size": 1}, headers=ledger.tenant.headers
        )
        first = response.json()
        assert first["count"] == 2
        assert parse_qs(urlsplit(first["next"]).query) == {
            **{name: [value] for name, value in params.items()},
            "page": ["2"],
            "page_size": ["1"],
        }
        second = (await client.get(first["next"], headers=ledger.tenant.headers)).json()
        ids = [item["id"] for page in (first, second) for item in page["results"]]
        assert ids == ledger.ids(3, 4)

    @pytest.mark.parametrize("raw_id", ["nope", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_match_nothing(
        self, client: httpx.AsyncClient, ledger: Ledger, raw_id: str
    ) -> None:
        for name in ("contract_id", "freelancer_id"):
            assert await _list(client, ledger.tenant, **{name: raw_id}) == []

    async def test_created_filters(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        since = ledger.entries[3].created_at.isoformat()
        assert await _list(client, ledger.tenant, created_gte=since) == ledger.ids(3, 4)
        assert await _list(client, ledger.tenant, created_lt=since) == ledger.ids(0, 1, 2)

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"status": "paid"}, "status"),
            ({"work_date_gte": "2026-13-01"}, "work_date_gte"),
            ({"work_date_lt": "yesterday"}, "work_date_lt"),
            ({"page_size": "0"}, "page_size"),
            ({"created_lt": "2026-01-01T00:00:00"}, "created_lt"),
            ({"contract_id": "c" * 101}, "contract_id"),
        ],
    )
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/timesheets", params=params, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert ["query", name] in [error["loc"] for error in errors], errors

    async def test_another_organizations_entries_are_never_listed(
        self, app: FastAPI, client: httpx.AsyncClient, ledger: Ledger, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        their_entry = await create_timesheet(
            app, await create_contract(app, other_tenant.organization, theirs)
        )
        mine = await _list(client, ledger.tenant, page_size=200)
        assert str(their_entry.id) not in mine
        assert len(mine) == 5
        assert await _list(client, other_tenant) == [str(their_entry.id)]
        for params in (
            {"contract_id": str(ledger.contracts[0].id)},
            {"freelancer_id": str(ledger.ada.id)},
        ):
            assert await _list(client, other_tenant, **params) == []


class TestReadTimesheetsAccess:
    @pytest.mark.parametrize("scopes", [["timesheets:read"], ["timesheets:write"]])
    async def test_read_or_write_scope_reads(
        self, app: FastAPI, client: httpx.AsyncClient, ledger: Ledger, scopes: list[str]
    ) -> None:
        _, key = await create_api_key(app, ledger.tenant.organization, scopes=scopes)
        listed = await client.get("/v1/timesheets", headers=bearer(key))
        assert listed.json()["count"] == 5
        path = f"/v1/timesheets/{ledger.entries[0].id}"
        assert (await client.get(path, headers=bearer(key))).status_code == 200

    async def test_other_scopes_are_403(
        self, app: FastAPI, client: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        _, key = await create_api_key(app, ledger.tenant.organization, scopes=["contracts:write"])
        for path in (
            "/v1/timesheets",
            f"/v1/timesheets/{ledger.entries[0].id}",
            "/v1/timesheets/nope",
        ):
            response = await client.get(path, headers=bearer(key))
            body = assert_problem(response, 403, "insufficient_scope")
            assert "timesheets:read" in body["detail"]
