"""The endpoint tables of the access tests (scopes, check order, tenancy) and calling them."""

from typing import Any

import httpx

from tests.factories.api_keys import bearer

# (method, path with its {placeholders}, body, scope it needs)
Endpoint = tuple[str, str, dict[str, Any] | None, str]


def endpoint_ids(endpoints: list[Endpoint]) -> list[str]:
    """Readable test ids: `GET /v1/projects/{id}`."""
    return [f"{method} {path}" for method, path, _, _ in endpoints]


async def call_endpoint(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    key: str,
    object_id: str,
) -> httpx.Response:
    return await client.request(method, path.format(id=object_id), json=body, headers=bearer(key))
