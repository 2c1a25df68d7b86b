"""Kiosks, and shortcuts to send clock events the way a kiosk does (API.md §10)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.tenants import Tenant
from worksible_api.db.session import commit
from worksible_api.domains.kiosks.schemas import KioskCreate
from worksible_api.domains.kiosks.service import KioskService
from worksible_api.models import Contract, Freelancer, Kiosk, Organization

INGEST = "/v1/clock-events/ingest"


async def create_kiosk(
    app: FastAPI, organization: Organization, **fields: Any
) -> tuple[Kiosk, str]:
    """An active kiosk of `organization`, and its whole secret."""
    async with app.state.sessionmaker() as session:
        data = KioskCreate(**{"name": "Front desk", **fields})
        kiosk, secret = await KioskService(session, organization.id).create(data)
        await commit(session)
        return kiosk, secret


def kiosk_headers(secret: str) -> dict[str, str]:
    return {"X-Kiosk-Secret": secret}


def clock(
    event_id: str, freelancer: Freelancer | str, type_: str, occurred_at: str, **fields: Any
) -> dict[str, Any]:
    """One event of an ingest body; `occurred_at` without an offset is UTC."""
    has_offset = occurred_at.endswith("Z") or "+" in occurred_at[10:] or "-" in occurred_at[10:]
    return {
        "event_id": event_id,
        "freelancer_id": freelancer if isinstance(freelancer, str) else str(freelancer.id),
        "type": type_,
        "occurred_at": occurred_at if has_offset else occurred_at + "Z",
        **fields,
    }


async def ingest(client: httpx.AsyncClient, secret: str, events: Sequence[Any]) -> httpx.Response:
    return await client.post(INGEST, json={"events": list(events)}, headers=kiosk_headers(secret))


@dataclass(frozen=True)
class Site:
    """A tenant with a kiosk and a freelancer on an active hourly contract from 2026-01-01."""

    tenant: Tenant
    kiosk: Kiosk
    secret: str
    freelancer: Freelancer
    contract: Contract

    async def send(self, client: httpx.AsyncClient, *events: Any) -> dict[str, Any]:
        """Ingests `events`, which must answer 200; returns the body."""
        response = await ingest(client, self.secret, events)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def entries(self, client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
        """The freelancer's timesheet entries, newest first."""
        response = await client.get(
            "/v1/timesheets",
            params={"freelancer_id": str(self.freelancer.id), "page_size": 200, **params},
            headers=self.tenant.headers,
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    async def events(self, client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
        """The freelancer's stored clock events, newest first."""
        response = await client.get(
            "/v1/clock-events",
            params={"freelancer_id": str(self.freelancer.id), "page_size": 200, **params},
            headers=self.tenant.headers,
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


async def create_site(app: FastAPI, tenant: Tenant, **contract_fields: Any) -> Site:
    kiosk, secret = await create_kiosk(app, tenant.organization)
    freelancer = await create_freelancer(app, tenant.organization)
    contract = await create_contract(app, tenant.organization, freelancer, **contract_fields)
    return Site(tenant, kiosk, secret, freelancer, contract)
