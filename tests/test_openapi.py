"""The OpenAPI 3.1 document (API.md §9): valid, complete, and derived from the routes."""

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.security import APIKeyHeader
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fixtures.openapi import inline_components
from worksible_api.api_document import install_openapi
from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import VALID_SCOPES, Scope
from worksible_api.error_handlers import PROBLEM_MEDIA_TYPE
from worksible_api.openapi import (
    TAGS,
    ExampleBuilder,
    build_openapi,
    error_catalogue,
    problem_responses,
)
from worksible_api.pipeline import ApiRoute

METHODS = ("get", "post", "patch", "put", "delete")
WRITES = ("post", "patch", "delete")


@pytest.fixture(scope="module")
def served(app: FastAPI) -> dict[str, Any]:
    """The document as served: what operations repeat is shared in components."""
    return app.openapi()


@pytest.fixture(scope="module")
def document(served: dict[str, Any]) -> dict[str, Any]:
    """The same with shared responses, parameters, headers and examples followed."""
    return inline_components(served)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def codes(operation: dict[str, Any], status: str) -> list[str]:
    found: list[str] = operation["responses"][status]["x-error-codes"]
    return found


def under_key(operation: dict[str, Any]) -> bool:
    return any("ApiKey" in requirement for requirement in operation.get("security", ()))


class TestServedDocument:
    async def test_is_valid_openapi_3_1(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        body = response.json()
        assert body["openapi"].startswith("3.1")
        validate(body)

    async def test_same_document_at_api_schema(self, client: httpx.AsyncClient) -> None:
        first = (await client.get("/openapi.json")).json()
        second = await client.get("/api/schema/")
        assert second.status_code == 200
        assert second.json() == first

    def test_is_built_once(self, app: FastAPI) -> None:
        assert app.openapi() is app.openapi()


class TestInfo:
    def test_description_covers_what_integrators_need(self, document: dict[str, Any]) -> None:
        description = document["info"]["description"]
        for topic in ("Authentication", "Pagination", "Idempotency", "Rate limits", "Errors"):
            assert f"## {topic}" in description
        assert "## Versioning" in description
        for doc in ("authentication.md", "errors.md", "rate-limits.md", "CHANGELOG.md"):
            assert f"docs/{doc}" in description

    def test_tags_have_descriptions_in_reading_order(self, document: dict[str, Any]) -> None:
        used = {tag for _, _, op in operations(document) for tag in op.get("tags", ())}
        tags = {tag["name"]: tag for tag in document["tags"]}
        assert used <= tags.keys()
        described = [name for name, _ in TAGS if name in used]
        assert [tag["name"] for tag in document["tags"]][: len(described)] == described
        for name in described:
            assert tags[name]["description"]


class TestSecurity:
    def test_schemes(self, document: dict[str, Any]) -> None:
        schemes = document["components"]["securitySchemes"]
        assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "http", "scheme": "bearer"}
        kiosk = [s for s in schemes.values() if s.get("name") == "X-Kiosk-Secret"]
        assert kiosk == [{**kiosk[0], "type": "apiKey", "in": "header"}]

    def test_every_v1_operation_needs_a_credential(self, document: dict[str, Any]) -> None:
        # API.md §15: the changelog's JSON needs no key.
        public = {"/v1/changelog"}
        for method, path, operation in operations(document):
            if path.startswith(("/v1/", "/api/v1/")) and path not in public:
                assert operation.get("security"), (method, path)
            else:
                assert "security" not in operation, (method, path)

    def test_key_operations_name_their_scope(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            if not under_key(operation):
                continue
            scope = operation["x-required-scope"]
            assert scope in VALID_SCOPES, (method, path)
            assert operation["security"] == [{"ApiKey": [scope]}]
            assert f"`{scope}`" in operation["description"]
            access = "write" if method in WRITES else "read"
            assert scope.endswith(f":{access}"), (method, path, scope)

    @pytest.mark.parametrize(
        ("method", "path", "scope"),
        [
            ("get", "/v1/freelancers", "freelancers:read"),
            ("post", "/v1/freelancers", "freelancers:write"),
            ("post", "/v1/invoices/{invoice_id}/finalize", "invoices:write"),
            ("get", "/v1/request-logs", "request_logs:read"),
            ("patch", "/v1/companies/me", "company:write"),
        ],
    )
    def test_scope_of_known_operations(
        self, document: dict[str, Any], method: str, path: str, scope: str
    ) -> None:
        assert document["paths"][path][method]["x-required-scope"] == scope

    def test_kiosk_ingest_uses_the_kiosk_secret(self, document: dict[str, Any]) -> None:
        ingest = document["paths"].get("/v1/clock-events/ingest", {}).get("post")
        if ingest is None:
            pytest.skip("POST /v1/clock-events/ingest is not built yet")
        (requirement,) = ingest["security"]
        (name,) = requirement
        assert document["components"]["securitySchemes"][name]["name"] == "X-Kiosk-Secret"
        assert "x-required-scope" not in ingest
        assert codes(ingest, "401") == ["invalid_kiosk_secret"]


class TestErrorResponses:
    def test_problem_schema_component(self, document: dict[str, Any]) -> None:
        problem = document["components"]["schemas"]["Problem"]
        assert set(problem["required"]) == {
            "type", "title", "status", "detail", "code", "request_id",
        }  # fmt: skip
        assert problem["examples"]
        assert "HTTPValidationError" not in document["components"]["schemas"]

    def test_every_error_is_a_problem(self, document: dict[str, Any]) -> None:
        catalogue = error_catalogue()
        for method, path, operation in operations(document):
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    continue
                content = response["content"]
                assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, status)
                media = content[PROBLEM_MEDIA_TYPE]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
                assert set(media["examples"]) == set(response["x-error-codes"])
                for code in response["x-error-codes"]:
                    assert str(catalogue[code].status) == status, (method, path, code)

    def test_every_operation_can_fail_on_our_side(self, document: dict[str, Any]) -> None:
        for _, _, operation in operations(document):
            assert codes(operation, "500") == ["internal_error"]
            assert codes(operation, "503") == ["service_unavailable"]
            retry_after = operation["responses"]["503"]["headers"]["Retry-After"]
            assert retry_after["required"] is True

    def test_by_what_the_operation_takes(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            responses = operation["responses"]
            key = (method, path)
            if under_key(operation):
                assert codes(operation, "401") == [
                    "missing_api_key", "invalid_api_key", "api_key_expired",
                ], key  # fmt: skip
                assert {"insufficient_scope", "plan_not_eligible"} <= set(codes(operation, "403"))
            if operation.get("security"):
                assert codes(operation, "429") == ["rate_limited"], key
            else:
                assert not {"401", "403", "429"} & responses.keys(), key
            if "{" in path:
                assert "not_found" in codes(operation, "404"), key
            # A write checks its body even when it takes none (API.md §12).
            if "requestBody" in operation or method in WRITES:
                assert codes(operation, "400") == ["invalid_json"], key
                assert codes(operation, "408") == ["request_timeout"], key
                assert codes(operation, "413") == ["payload_too_large"], key
                assert codes(operation, "415") == ["unsupported_media_type"], key
                assert "validation_error" in codes(operation, "422"), key
            else:
                assert not {"400", "408", "413", "415"} & responses.keys(), key
            if method in WRITES:
                assert "idempotency_key_in_use" in codes(operation, "409"), key
                assert "idempotency_key_reused" in codes(operation, "422"), key
                names = [p["name"] for p in operation["parameters"]]
                assert "Idempotency-Key" in names, key

    @pytest.mark.parametrize(
        ("method", "path", "status", "code"),
        [
            ("post", "/v1/payouts", "422", "insufficient_balance"),
            ("post", "/v1/payments", "422", "amount_exceeds_due"),
            ("post", "/v1/timesheets", "409", "timesheet_overlap"),
            ("post", "/v1/timesheets/{timesheet_id}/approve", "409", "timesheet_clash"),
            ("post", "/v1/contracts", "409", "freelancer_archived"),
            ("post", "/v1/contracts/{contract_id}/activate", "409", "invalid_state"),
        ],
    )
    def test_domain_codes(
        self, document: dict[str, Any], method: str, path: str, status: str, code: str
    ) -> None:
        assert code in codes(document["paths"][path][method], status)

    def test_deprecated_alias(self, document: dict[str, Any]) -> None:
        alias = document["paths"]["/v1/company"]["get"]
        assert alias["deprecated"] is True
        assert "GET /v1/companies/me" in alias["description"]
        assert codes(alias, "410") == ["gone"]
        headers = alias["responses"]["200"]["headers"]
        assert {"Deprecation", "Sunset", "Link"} <= headers.keys()


class TestSize:
    """The document stays light for Swagger UI, Postman and code generators (issue: 1 MB)."""

    async def test_under_250_kb_as_served_but_for_the_wbsync_paths(
        self, client: httpx.AsyncClient
    ) -> None:
        """The WBSync paths repeat their twins' operations by reference (API.md §17 lists them
        in the document, §9 asks for each operation's errors): the rest stays under 250 kB."""
        answer = await client.get("/openapi.json")
        assert len(answer.content) < 300_000
        served = answer.json()
        paths = served["paths"]
        own = {**served, "paths": {p: i for p, i in paths.items() if not p.startswith("/api/")}}
        assert len(json.dumps(own, separators=(",", ":"))) < 250_000

    def test_country_and_currency_are_named_schemas(self, served: dict[str, Any]) -> None:
        schemas = served["components"]["schemas"]
        assert len(schemas["Country"]["enum"]) > 200
        assert len(schemas["Currency"]["enum"]) > 150
        served_text = json.dumps(served)
        assert served_text.count('"AD", "AE"') == 1  # the country list, once
        assert served_text.count('"AED", "AFN"') == 1  # the currency list, once
        assert schemas["FreelancerCreate"]["properties"]["country"] == {
            "$ref": "#/components/schemas/Country"
        }

    def test_operations_refer_to_shared_responses(self, served: dict[str, Any]) -> None:
        for method, path, operation in operations(served):
            for status, response in operation["responses"].items():
                assert set(response) == {"$ref"}, (method, path, status)


class TestHeaders:
    def test_request_id_on_every_response(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            for status, response in operation["responses"].items():
                header = response["headers"]["X-Request-Id"]
                assert header["required"] is True, (method, path, status)

    def test_rate_limits_on_answers_under_a_key(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            success = [r for s, r in operation["responses"].items() if s.startswith("2")]
            for response in success:
                present = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
                if under_key(operation):
                    assert all(response["headers"][h]["required"] for h in present), (method, path)
                elif not operation.get("security"):
                    assert not present & response["headers"].keys(), (method, path)

    def test_retry_after_on_429_and_idempotency_conflicts(self, document: dict[str, Any]) -> None:
        for _, _, operation in operations(document):
            responses = operation["responses"]
            if "429" in responses:
                assert responses["429"]["headers"]["Retry-After"]["required"] is True
            if "idempotency_key_in_use" in responses.get("409", {}).get("x-error-codes", ()):
                assert "Retry-After" in responses["409"]["headers"]


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                "urn:openapi" + value
                if key == "$ref" and value.startswith("#/")
                else _rebase(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def _checker(document: dict[str, Any]) -> Callable[[dict[str, Any], Any, str], None]:
    """Validates an example against a schema of the document, `$ref`s and all."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:openapi", Resource(contents=_rebase(document), specification=DRAFT202012)
    )

    def check(schema: dict[str, Any], example: Any, where: str) -> None:
        validator = Draft202012Validator(_rebase(schema), registry=registry)
        problems = [error.message for error in validator.iter_errors(example)]
        assert not problems, (where, problems, example)

    return check


class TestExamples:
    def test_every_example_matches_its_schema(self, document: dict[str, Any]) -> None:
        check = _checker(document)
        checked = 0
        for method, path, operation in operations(document):
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "example" in body:
                check(body["schema"], body["example"], where + " request")
                checked += 1
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    examples = [media["example"]] if "example" in media else []
                    examples += [e["value"] for e in media.get("examples", {}).values()]
                    for example in examples:
                        check(media["schema"], example, f"{where} {status}")
                        checked += 1
        for name, schema in document["components"]["schemas"].items():
            for example in schema.get("examples", ()):
                check({"$ref": f"#/components/schemas/{name}"}, example, name)
                checked += 1
        assert checked > 200

    def test_writes_with_a_body_show_one(self, document: dict[str, Any]) -> None:
        for method, path, operation in operations(document):
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content and operation["requestBody"].get("required"):
                assert "example" in content["application/json"], (method, path)

    def test_hand_written_ones_win(self, document: dict[str, Any]) -> None:
        contract = document["paths"]["/v1/contracts"]["post"]["requestBody"]
        assert contract["content"]["application/json"]["example"]["type"] == "hourly"

    def test_generated_from_field_names_and_schema(self, document: dict[str, Any]) -> None:
        created = document["paths"]["/v1/freelancers"]["post"]["responses"]["201"]
        assert created["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/FreelancerOut"
        }
        # Shown once, on the schema every operation answering a freelancer refers to.
        (example,) = document["components"]["schemas"]["FreelancerOut"]["examples"]
        assert example["object"] == "freelancer"
        assert example["default_currency"] == "EUR"
        assert example["archived_at"] is None


# The derivation on a small app of its own: what a new router gets without touching openapi.py.

kiosk_scheme = APIKeyHeader(name="X-Kiosk-Secret", auto_error=False, scheme_name="KioskSecret")


class Widget(BaseModel):
    name: str
    size: int


def _small_app() -> FastAPI:
    router = APIRouter(prefix="/v1/widgets", tags=["Widgets"], route_class=ApiRoute)
    widgets_write = Annotated[Principal, Depends(require(Scope.PROJECTS_WRITE))]

    @router.post(
        "/{widget_id}/polish",
        response_model=Widget,
        responses=problem_responses("timesheet_clash"),
    )
    async def polish_widget(widget_id: str, principal: widgets_write, body: Widget) -> Widget:
        return body

    @router.get("/plain-header")
    async def plain_header(x_kiosk_secret: Annotated[str | None, Header()] = None) -> Widget:
        return Widget(name="w", size=1)

    async def kiosk(secret: Annotated[str | None, Depends(kiosk_scheme)]) -> str | None:
        return secret

    @router.get("/kiosk")
    async def kiosk_only(secret: Annotated[str | None, Depends(kiosk)]) -> Widget:
        return Widget(name="w", size=1)

    app = FastAPI(title="Small")
    app.include_router(router)
    install_openapi(app)
    return app


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    document = build_openapi(_small_app())
    validate(document)
    return inline_components(document)


class TestDerivedForAnyRoute:
    def test_scope_from_the_dependency(self, small: dict[str, Any]) -> None:
        polish = small["paths"]["/v1/widgets/{widget_id}/polish"]["post"]
        assert polish["x-required-scope"] == "projects:write"
        assert polish["security"] == [{"ApiKey": ["projects:write"]}]

    def test_declared_codes_merge_with_the_generic_ones(self, small: dict[str, Any]) -> None:
        polish = small["paths"]["/v1/widgets/{widget_id}/polish"]["post"]
        assert codes(polish, "409") == ["timesheet_clash", "idempotency_key_in_use"]
        assert codes(polish, "404") == ["not_found"]
        assert "validation_error" in codes(polish, "422")

    def test_kiosk_scheme_from_a_security_dependency(self, small: dict[str, Any]) -> None:
        kiosk = small["paths"]["/v1/widgets/kiosk"]["get"]
        assert kiosk["security"] == [{"KioskSecret": []}]
        assert codes(kiosk, "401") == ["invalid_kiosk_secret"]
        assert "403" not in kiosk["responses"]

    def test_a_plain_header_carrying_a_scheme_becomes_security(self, small: dict[str, Any]) -> None:
        plain = small["paths"]["/v1/widgets/plain-header"]["get"]
        assert plain["security"] == [{"KioskSecret": []}]
        assert "parameters" not in plain

    def test_example_builder_uses_field_examples_first(self) -> None:
        schema = {
            "type": "object",
            "required": ["amount", "note"],
            "properties": {
                "amount": {"type": "integer", "examples": [999]},
                "note": {"type": "string"},
                "currency": {"type": "string"},
                "skipped": {"type": "string"},
            },
        }
        built = ExampleBuilder({}, request=True).build(schema)
        assert built == {"amount": 999, "note": "string", "currency": "EUR"}
