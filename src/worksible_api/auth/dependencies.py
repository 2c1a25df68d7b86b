"""The FastAPI dependencies that build a `Principal` and check the scope a route needs."""

from collections.abc import Awaitable, Callable
from ipaddress import ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worksible_api.auth.gate import Gate
from worksible_api.auth.key_cache import VerifiedKey
from worksible_api.auth.keys import key_digest, parse_key
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope, grants
from worksible_api.auth.verifier import KeyVerifier
from worksible_api.errors import (
    ApiKeyExpired,
    InsufficientScope,
    InvalidApiKey,
    IpNotAllowed,
    MissingApiKey,
    PlanNotEligible,
    RateLimited,
)
from worksible_api.idempotency.cache import IdempotencyCache
from worksible_api.idempotency.service import requested_key
from worksible_api.kit.time import utc_now
from worksible_api.models.organization import API_ELIGIBLE_PLANS
from worksible_api.ratelimit.limits import BucketState

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="wsk_live_<key_id>_<secret>",
    description="An API key: `Authorization: Bearer wsk_live_…`.",
)


def _ip_allowed(client_ip: str, allowlist: tuple[str, ...]) -> bool:
    if not allowlist:
        return True
    try:
        address = ip_address(client_ip)
    except ValueError:
        return False
    return any(address in ip_network(cidr) for cidr in allowlist)


def _check_policy(verified: VerifiedKey, client_ip: str, now_seconds: float) -> None:
    if verified.expires_at <= now_seconds:
        raise ApiKeyExpired("The API key has expired; create a new one.")
    if verified.plan not in API_ELIGIBLE_PLANS:
        raise PlanNotEligible(f"The {verified.plan} plan does not include API access.")
    # An allowlist binds whatever the plan is now: a downgrade must never widen access.
    if not _ip_allowed(client_ip, verified.ip_allowlist):
        raise IpNotAllowed(f"Requests from {client_ip} are not allowed for this key.")


def _limited(state: BucketState, request: Request) -> BucketState:
    request.state.rate_limit = state
    if not state.allowed:
        raise RateLimited(
            "Too many requests; slow down and retry after the time in Retry-After.",
            headers={**state.headers(), "Retry-After": str(state.retry_after)},
        )
    return state


def _replay_name(request: Request, gate: Gate, key_id: str | None) -> str | None:
    """The idempotency record a write names, for the gate to read in its round trip; None when
    there is none or the key's organization (part of the name) is not known yet."""
    idempotency_key = requested_key(request)
    organization_id = gate.organization_of(key_id) if key_id else None
    if idempotency_key is None or organization_id is None:
        return None
    cache: IdempotencyCache = request.app.state.idempotency_cache
    return cache.name(organization_id, idempotency_key)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    presented = credentials.credentials.strip() if credentials else ""
    parsed = parse_key(presented) if presented else None
    digest = key_digest(parsed.full) if parsed else None
    client_ip: str = request.state.client_ip
    gate: Gate = request.app.state.gate
    key_id = parsed.key_id if parsed else None
    # The IP bucket guards every caller, keyless and wrong-key ones included.
    admission = await gate.admit(client_ip, key_id, digest, _replay_name(request, gate, key_id))
    request.state.idempotency_prefetch = admission.replay
    _limited(admission.ip, request)
    if not presented:
        raise MissingApiKey("Send your API key as `Authorization: Bearer wsk_live_…`.")
    if parsed is None or digest is None:
        raise InvalidApiKey("The API key is not valid.")
    verifier: KeyVerifier = request.app.state.key_verifier
    verified = await verifier.verify(parsed, digest, admission.cached, admission.generation)
    gate.remember(verified)
    now = utc_now()
    _check_policy(verified, client_ip, now.timestamp())
    limit = gate.key_limit(verified.plan)
    if limit is not None:
        _limited(admission.key or await gate.take_for_key(verified.key_id, limit), request)
    await verifier.touch(verified.api_key_uuid, client_ip, now)
    principal = Principal(
        organization_id=verified.organization_uuid,
        api_key_id=verified.api_key_uuid,
        key_id=verified.key_id,
        scopes=frozenset(verified.scopes),
        plan=verified.plan,
        client_ip=client_ip,
    )
    request.state.principal = principal
    return principal


AuthenticatedPrincipal = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check_scope(principal: AuthenticatedPrincipal) -> Principal:
        if not grants(principal.scopes, scope):
            raise InsufficientScope(f"This key lacks the scope {scope}.", required_scope=str(scope))
        return principal

    # Read when the OpenAPI document is built, so each operation names its scope.
    check_scope.required_scope = scope  # type: ignore[attr-defined]
    return check_scope
