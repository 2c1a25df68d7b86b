"""Assertions on HTTP responses shared by the contract tests (API.md §1, §3)."""

import re
from typing import Any

import httpx

REQUEST_ID = re.compile(r"req_[0-9a-f]+")
# RFC 3339 UTC, as API.md §1 shows timestamps: `2026-11-22T16:20:43Z`.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.worksible.com/errors/"
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "request_id"})


def result_ids(page: dict[str, Any]) -> list[str]:
    """The ids of a list page's results, in the order the page gives them."""
    return [item["id"] for item in page["results"]]


def media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower()


def assert_request_id(response: httpx.Response) -> str:
    request_id: str | None = response.headers.get("x-request-id")
    assert request_id is not None, f"no X-Request-Id on {response.status_code}"
    assert REQUEST_ID.fullmatch(request_id), request_id
    return request_id


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with our members; returns the parsed body."""
    assert response.status_code == status, response.text
    assert media_type(response) == PROBLEM_MEDIA_TYPE, response.headers.get("content-type")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == PROBLEM_TYPE_BASE + code
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["request_id"] == assert_request_id(response)
    return body


def assert_validation_error(response: httpx.Response) -> list[dict[str, Any]]:
    """A 422 `validation_error` whose `errors[]` items each carry loc, msg and type."""
    body = assert_problem(response, 422, "validation_error")
    errors: list[dict[str, Any]] = body["errors"]
    assert isinstance(errors, list), body
    assert errors, body
    for error in errors:
        assert isinstance(error["loc"], list), error
        assert all(isinstance(part, str | int) for part in error["loc"]), error
        assert isinstance(error["msg"], str), error
        assert error["msg"], error
        assert isinstance(error["type"], str), error
        assert error["type"], error
    return errors
