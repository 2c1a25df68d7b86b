"""The error base and the catalogue of error codes (API.md §3). No FastAPI import here."""

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        # Extra members of the problem document, e.g. `errors` or `current_status`.
        self.extra = extra


class InvalidJson(ApiError):
    status, code, title = 400, "invalid_json", "Invalid JSON"


class BearerUnauthorized(ApiError):
    """A 401 for the Bearer scheme: RFC 6750 asks for the challenge header."""

    status = 401

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="worksible"'})


class MissingApiKey(BearerUnauthorized):
    code, title = "missing_api_key", "Missing API key"


class InvalidApiKey(BearerUnauthorized):
    code, title = "invalid_api_key", "Invalid API key"


class ApiKeyExpired(BearerUnauthorized):
    code, title = "api_key_expired", "API key expired"


class InsufficientScope(ApiError):
    status, code, title = 403, "insufficient_scope", "Insufficient scope"


class PlanNotEligible(ApiError):
    status, code, title = 403, "plan_not_eligible", "Plan not eligible"


class IpNotAllowed(ApiError):
    status, code, title = 403, "ip_not_allowed", "IP address not allowed"


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(ApiError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class InvalidState(ApiError):
    status, code, title = 409, "invalid_state", "Invalid state"

    def __init__(self, detail: str, *, current_status: str) -> None:
        super().__init__(detail, current_status=current_status)


class Conflict(ApiError):
    status, code, title = 409, "conflict", "Conflict"


class RequestTimeout(ApiError):
    status, code, title = 408, "request_timeout", "Request timeout"


class Gone(ApiError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(ApiError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(ApiError):
    status, code, title = 422, "validation_error", "Validation error"

    def __init__(self, detail: str, *, errors: Sequence[dict[str, Any]]) -> None:
        super().__init__(detail, errors=list(errors))

    @classmethod
    def for_field(
        cls, loc: Sequence[str | int], msg: str, type_: str = "value_error"
    ) -> "ValidationFailed":
        return cls(msg, errors=[{"loc": list(loc), "msg": msg, "type": type_}])


class RateLimited(ApiError):
    status, code, title = 429, "rate_limited", "Rate limited"


class InternalError(ApiError):
    status, code, title = 500, "internal_error", "Internal error"


class ServiceUnavailable(ApiError):
    status, code, title = 503, "service_unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class OutcomeUnknown(ServiceUnavailable):
    """The database stopped answering after COMMIT was sent: the truth is "maybe"."""

    def __init__(self) -> None:
        super().__init__(
            "The database stopped answering while this change was being committed, so it may "
            "or may not have been saved. Retry with the same Idempotency-Key to get its answer."
        )


# Domain rules (API.md §9, §13).


class FreelancerArchived(ApiError):
    status, code, title = 409, "freelancer_archived", "Freelancer archived"


class ContractNotHourly(ApiError):
    status, code, title = 422, "contract_not_hourly", "Contract not hourly"


class DateOutsideContract(ApiError):
    status, code, title = 422, "date_outside_contract", "Date outside contract"


class TimesheetOverlap(ApiError):
    status, code, title = 409, "timesheet_overlap", "Timesheet overlap"


class TimesheetDayLimit(ApiError):
    status, code, title = 409, "timesheet_day_limit", "Timesheet day limit"


class TimesheetClash(ApiError):
    status, code, title = 409, "timesheet_clash", "Timesheet clash"


class CurrencyMismatch(ApiError):
    status, code, title = 422, "currency_mismatch", "Currency mismatch"


class AmountExceedsDue(ApiError):
    status, code, title = 422, "amount_exceeds_due", "Amount exceeds amount due"


class InsufficientBalance(ApiError):
    status, code, title = 422, "insufficient_balance", "Insufficient balance"


class IdempotencyKeyReused(ApiError):
    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class IdempotencyKeyInUse(ApiError):
    status, code, title = 409, "idempotency_key_in_use", "Idempotency key in use"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class WbsCycle(ApiError):
    status, code, title = 422, "wbs_cycle", "WBS cycle"


class WbsTooDeep(ApiError):
    status, code, title = 422, "wbs_too_deep", "WBS too deep"


class WbsInUse(ApiError):
    status, code, title = 409, "wbs_in_use", "WBS element in use"


class Forbidden(ApiError):
    """The dashboard: the signed-in user's role does not allow the action."""

    status, code, title = 403, "forbidden", "Forbidden"


class CsrfFailed(ApiError):
    """The dashboard: a form or htmx request without this session's anti-forgery token."""

    status, code, title = 403, "csrf_failed", "Request not trusted"


class LastOwner(ApiError):
    status, code, title = 409, "last_owner", "Last owner"


class LivemodeRequired(ApiError):
    """Test mode (API.md §17): what is not test data, such as dashboard users, is managed
    with live keys only."""

    status, code, title = 403, "livemode_required", "Live mode required"


# Kiosks and booking to the WBS (API.md §10, §13).


class InvalidKioskSecret(ApiError):
    """Missing, malformed, unknown, wrong or revoked: one answer, no hint which."""

    status, code, title = 401, "invalid_kiosk_secret", "Invalid kiosk secret"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'KioskSecret realm="worksible"'})


class WbsProjectMismatch(ApiError):
    status, code, title = 422, "wbs_project_mismatch", "WBS element of another project"
