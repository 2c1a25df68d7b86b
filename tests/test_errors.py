"""Every error path renders RFC 9457 problem details (API.md §1, §3, §12)."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem, assert_request_id, assert_validation_error
from tests.factories.tenants import Tenant
from worksible_api.domains.organizations.repository import OrganizationRepository

JSON = {"content-type": "application/json"}
MAX_BODY_BYTES = 1024 * 1024  # API.md §12: 1 MiB

# Bodies no JSON parser should accept (API.md §12: 400 `invalid_json`).
MALFORMED_BODIES = {
    "garbage": b"{not json",
    "truncated": b'{"name": "x"',
    "trailing_garbage": b'{"name": "x"} {',
    "single_quotes": b"{'name': 'x'}",
    "invalid_utf8": b'{"name": "\xff\xfe"}',
    "nan": b'{"name": "x", "expires_at": NaN}',
    "bare_nan": b"NaN",
    "infinity": b'{"name": Infinity}',
    "negative_infinity": b'{"name": -Infinity}',
    "deeply_nested": b"[" * 100_000,
}


def _padded_name_body(size: int) -> bytes:
    """`{"name": "aaa…"}` of exactly `size` bytes."""
    empty = b'{"name": ""}'
    return empty[:-2] + b"a" * (size - len(empty)) + empty[-2:]


async def _chunks(body: bytes, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), chunk_size):
        yield body[start : start + chunk_size]


class TestUnknownRoute:
    @pytest.mark.parametrize(
        "path", ["/v1/does-not-exist", "/nope", "/v1/companies/me/extra", "/v1/api-keys/x/nope"]
    )
    async def test_404_not_found(self, client: httpx.AsyncClient, path: str) -> None:
        assert_problem(await client.get(path), 404, "not_found")

    async def test_404_with_a_valid_key(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.get("/v1/does-not-exist", headers=tenant.headers)
        assert_problem(response, 404, "not_found")


class TestMethodNotAllowed:
    @pytest.mark.parametrize("method", ["DELETE", "PUT", "POST", "OPTIONS"])
    async def test_405_method_not_allowed(
        self, client: httpx.AsyncClient, tenant: Tenant, method: str
    ) -> None:
        response = await client.request(method, "/v1/companies/me", headers=tenant.headers)
        assert_problem(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]

    async def test_405_allow_lists_every_method(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.delete("/v1/companies/me", headers=tenant.headers)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert {"GET", "PATCH"} <= allowed

    async def test_405_allow_names_the_fixed_segment_not_the_id_route_beside_it(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # /v1/timesheets/clashes sits beside /v1/timesheets/{timesheet_id} (GET, PATCH): only
        # the clash list's own methods are allowed on it.
        response = await client.delete("/v1/timesheets/clashes", headers=tenant.headers)
        assert_problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET"

    async def test_405_without_auth(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post("/healthz"), 405, "method_not_allowed")


class TestInvalidJson:
    @pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
    async def test_malformed_body_is_400(
        self, client: httpx.AsyncClient, tenant: Tenant, body: bytes
    ) -> None:
        response = await client.post(
            "/v1/api-keys", content=body, headers={**tenant.headers, **JSON}
        )
        assert_problem(response, 400, "invalid_json")

    @pytest.mark.parametrize("headers", [JSON, {}], ids=["application_json", "no_content_type"])
    async def test_empty_body_is_400(
        self, client: httpx.AsyncClient, tenant: Tenant, headers: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/api-keys", content=b"", headers={**tenant.headers, **headers}
        )
        assert_problem(response, 400, "invalid_json")

    async def test_malformed_patch_is_400(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.patch(
            "/v1/companies/me", content=b"{nope", headers={**tenant.headers, **JSON}
        )
        assert_problem(response, 400, "invalid_json")


class TestPayloadTooLarge:
    async def test_body_over_1_mib_is_413(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        body = _padded_name_body(MAX_BODY_BYTES + 1)
        response = await client.post(
            "/v1/api-keys", content=body, headers={**tenant.headers, **JSON}
        )
        assert_problem(response, 413, "payload_too_large")

    async def test_streamed_body_over_1_mib_is_413(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # No Content-Length: the limit must hold while reading, not only on the header.
        body = _padded_name_body(2 * MAX_BODY_BYTES)
        response = await client.post(
            "/v1/api-keys", content=_chunks(body), headers={**tenant.headers, **JSON}
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload_too_large")

    async def test_body_of_exactly_1_mib_is_read(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # At the limit the body is parsed: its over-long name is a 422, not a 413.
        body = _padded_name_body(MAX_BODY_BYTES)
        response = await client.post(
            "/v1/api-keys", content=body, headers={**tenant.headers, **JSON}
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["body", "name"]


class TestUnsupportedMediaType:
    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
    )
    async def test_non_json_body_is_415(
        self, client: httpx.AsyncClient, tenant: Tenant, content_type: str | None
    ) -> None:
        headers = {"content-type": content_type} if content_type else {}
        response = await client.post(
            "/v1/api-keys", content=b'{"name": "x"}', headers={**tenant.headers, **headers}
        )
        assert_problem(response, 415, "unsupported_media_type")

    async def test_text_plain_patch_is_415(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.patch(
            "/v1/companies/me",
            content=b'{"name": "x"}',
            headers={**tenant.headers, "content-type": "text/plain"},
        )
        assert_problem(response, 415, "unsupported_media_type")
        me = await client.get("/v1/companies/me", headers=tenant.headers)
        assert me.json()["name"] == tenant.organization.name


class TestValidationError:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            pytest.param([], ["body"], id="array_not_object"),
            pytest.param("a string", ["body"], id="string_not_object"),
            pytest.param(42, ["body"], id="number_not_object"),
            pytest.param({"nmae": "typo"}, ["body", "nmae"], id="unknown_field"),
            pytest.param({"name": 5}, ["body", "name"], id="name_not_string"),
            pytest.param({"name": ""}, ["body", "name"], id="name_empty"),
            pytest.param({"name": "x" * 201}, ["body", "name"], id="name_too_long"),
            pytest.param({"scopes": "company:read"}, ["body", "scopes"], id="scopes_not_list"),
            pytest.param({"scopes": ["nope:read"]}, ["body", "scopes", 0], id="unknown_scope"),
            pytest.param({"expires_at": "tomorrow"}, ["body", "expires_at"], id="bad_datetime"),
            pytest.param({"metadata": {"k": 1}}, ["body", "metadata", "k"], id="metadata_int"),
        ],
    )
    async def test_wrong_shape_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, body: object, loc: list[str | int]
    ) -> None:
        response = await client.post("/v1/api-keys", json=body, headers=tenant.headers)
        errors = assert_validation_error(response)
        assert loc in [error["loc"] for error in errors], errors

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b'{"name": "a\\u0000b"}', id="nul_in_value"),
            pytest.param(b'{"name": "\\ud800"}', id="lone_high_surrogate"),
            pytest.param(b'{"name": "x\\udfffy"}', id="lone_low_surrogate"),
            pytest.param(b'{"metadata": {"\\u0000": "v"}}', id="nul_in_key"),
            pytest.param(b'{"metadata": {"k": "\\ud800"}}', id="surrogate_in_nested_value"),
        ],
    )
    async def test_unstorable_string_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, body: bytes
    ) -> None:
        response = await client.post(
            "/v1/api-keys", content=body, headers={**tenant.headers, **JSON}
        )
        assert_validation_error(response)

    async def test_valid_surrogate_pair_is_accepted(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        # An escaped pair is one real character (U+1F600), which PostgreSQL stores fine.
        response = await client.post(
            "/v1/api-keys",
            content=b'{"name": "smile \\ud83d\\ude00", "scopes": ["company:read"]}',
            headers={**tenant.headers, **JSON},
        )
        assert response.status_code == 201, response.text
        assert response.json()["name"] == "smile \U0001f600"


# Bad bodies of each kind, for the check order of API.md §1.
BAD_BODIES = {
    "garbage": (b"{not json", JSON),
    "empty": (b"", JSON),
    "too_large": (_padded_name_body(MAX_BODY_BYTES + 1), JSON),
    "text_plain": (b'{"name": "x"}', {"content-type": "text/plain"}),
    "wrong_type": (b'{"name": 5}', JSON),
    "unknown_field": (b'{"nmae": "x"}', JSON),
    "nul": (b'{"name": "\\u0000"}', JSON),
}


class TestCheckOrder:
    """Authentication, then scope and plan, then the path's objects, then the body (API.md §1)."""

    @pytest.mark.parametrize(("body", "headers"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
    async def test_bad_body_without_key_is_401(
        self, client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
    ) -> None:
        response = await client.post("/v1/api-keys", content=body, headers=headers)
        assert_problem(response, 401, "missing_api_key")
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_bad_body_with_invalid_key_is_401(self, client: httpx.AsyncClient) -> None:
        headers = {**bearer("wsk_live_nosuchkey_" + "a" * 43), **JSON}
        response = await client.post("/v1/api-keys", content=b"{not json", headers=headers)
        assert_problem(response, 401, "invalid_api_key")

    @pytest.mark.parametrize(("body", "headers"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
    async def test_bad_body_with_key_lacking_scope_is_403(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        _, read_only = await create_api_key(app, tenant.organization, scopes=["company:read"])
        response = await client.post(
            "/v1/api-keys", content=body, headers={**bearer(read_only), **headers}
        )
        body_json = assert_problem(response, 403, "insufficient_scope")
        assert "api_keys:write" in body_json["detail"]

    @pytest.mark.parametrize(("body", "headers"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
    async def test_bad_body_on_missing_path_object_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, body: bytes, headers: dict[str, str]
    ) -> None:
        response = await client.patch(
            "/v1/api-keys/does-not-exist", content=body, headers={**tenant.headers, **headers}
        )
        assert_problem(response, 404, "not_found")

    async def test_bad_body_on_other_tenants_object_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        response = await client.patch(
            f"/v1/api-keys/{other_tenant.api_key.id}",
            content=b'{"name": 5}',
            headers={**tenant.headers, **JSON},
        )
        assert_problem(response, 404, "not_found")


class TestInternalError:
    async def test_unexpected_exception_is_500_without_internals(
        self, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def explode(self: OrganizationRepository, *, for_update: bool = False) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(OrganizationRepository, "current", explode)
        response = await client.get("/v1/companies/me", headers=tenant.headers)
        assert_problem(response, 500, "internal_error")
        assert "secret" not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text

    async def test_service_still_answers_after_a_500(
        self, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def explode(self: OrganizationRepository, *, for_update: bool = False) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(OrganizationRepository, "current", explode)
        failed = await client.get("/v1/companies/me", headers=tenant.headers)
        assert failed.status_code == 500
        monkeypatch.undo()
        response = await client.get("/v1/companies/me", headers=tenant.headers)
        assert response.status_code == 200
        assert assert_request_id(response) != assert_request_id(failed)


class TestRequestId:
    async def test_on_success(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.get("/v1/companies/me", headers=tenant.headers)
        assert response.status_code == 200
        assert_request_id(response)

    async def test_on_unauthenticated_health_check(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert_request_id(response)

    async def test_on_401(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/v1/companies/me"), 401, "missing_api_key")

    async def test_on_404(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.get("/v1/api-keys/does-not-exist", headers=tenant.headers)
        assert_problem(response, 404, "not_found")

    async def test_unique_per_request(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        responses = [
            *[await client.get("/v1/companies/me", headers=tenant.headers) for _ in range(10)],
            *[await client.get("/v1/companies/me") for _ in range(10)],
        ]
        request_ids = {assert_request_id(response) for response in responses}
        assert len(request_ids) == len(responses)

    async def test_one_id_even_when_the_client_sends_one(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-Id": "not-ours"})
        assert response.headers.get_list("x-request-id") == [assert_request_id(response)]
