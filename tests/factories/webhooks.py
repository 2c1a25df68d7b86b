"""Webhook endpoints, made as a client makes them, at an address the URL rules accept."""

from typing import Any

import httpx

from tests.factories.tenants import Tenant

# A public address written as an IP literal: the URL rules accept it without DNS.
PUBLIC_HOOK_URL = "https://93.184.215.14/hooks"


async def create_webhook_endpoint(
    http: httpx.AsyncClient, tenant: Tenant, **fields: Any
) -> dict[str, Any]:
    """A new endpoint of `tenant`'s organization, for every event unless `fields` say
    otherwise, as `POST /v1/webhook-endpoints` answers it (its secret included)."""
    body = {"url": PUBLIC_HOOK_URL, "events": ["*"], **fields}
    made = await http.post("/v1/webhook-endpoints", headers=tenant.headers, json=body)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer
