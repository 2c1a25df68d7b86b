"""Admission, authentication and scope checks: the `Principal` a route acts for.

Every request that is not a public page is admitted once, by the outermost middleware, before
its route is even matched (`admit`): its client IP's bucket, and the presented key's cache
entry and bucket, in one Redis round trip. A route's scope check carries a guard (guards.py),
so the key is verified and the scope checked before the body is read (API.md §1, §12); the
FastAPI dependencies then find the principal on the request.
"""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from worksible_api.auth.gate import Admission, Gate
from worksible_api.auth.key_cache import VerifiedKey
from worksible_api.auth.keys import ParsedKey, key_digest, parse_key
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
from worksible_api.guards import with_guard
from worksible_api.idempotency.cache import IdempotencyCache
from worksible_api.idempotency.credential import Credential
from worksible_api.idempotency.service import requested_key
from worksible_api.kit.fields import acting_in
from worksible_api.kit.time import utc_now
from worksible_api.models.organization import API_ELIGIBLE_PLANS
from worksible_api.ratelimit.limits import BucketState


class DocumentedBearer(HTTPBearer):
    """The Bearer scheme, as the OpenAPI document shows it on each operation. The key itself
    is read once a request by the gate (`admit`), before the route is even matched: read here
    again, it would only make an object no one uses."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


bearer_scheme = DocumentedBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="wsk_live_<key_id>_<secret>",
    description="An API key: `Authorization: Bearer wsk_live_…`, or `wsk_test_…` for test mode.",
)


@dataclass(frozen=True)
class Presented:
    """The API key a request presents, as far as it can be read without checking it."""

    raw: str  # "" when the request has none
    key: ParsedKey | None
    digest: str | None

    @classmethod
    def of(cls, request: Request) -> "Presented":
        # As HTTPBearer reads it: the Bearer scheme, any case; anything else presents no key.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        raw = token.strip() if scheme.lower() == "bearer" else ""
        key = parse_key(raw) if raw else None
        return cls(raw, key, key_digest(key.full) if key else None)

    @functools.cached_property
    def credential(self) -> Credential | None:
        """The key as idempotency knows it (its records' scope, their seal), made once: the
        gate's replay name and the principal both need it."""
        return Credential(self.key.full, self.key.key_id) if self.key else None


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


def limited(state: BucketState, request: Request) -> BucketState:
    """The bucket the request drew from (its headers go on the response); 429 when empty."""
    request.scope["state"]["rate_limit"] = state
    if not state.allowed:
        raise RateLimited(
            "Too many requests; slow down and retry after the time in Retry-After.",
            headers={**state.headers(), "Retry-After": str(state.retry_after)},
        )
    return state


def _replay_name(request: Request, presented: Presented) -> str | None:
    """The idempotency record a write names, for the gate to read in its round trip."""
    idempotency_key = requested_key(request)
    if idempotency_key is None or presented.credential is None:
        return None
    cache: IdempotencyCache = request.app.state.idempotency_cache
    return cache.name(presented.credential, idempotency_key)


async def admit(request: Request) -> Admission:
    """The request's admission by the gate, made once per request; 429 over the IP's limit.

    The request's state is read as the dict it is (`scope["state"]`, which the outermost
    middleware sets), here and below: through `request.state` each read is a Python call, and
    one that finds nothing raises and catches an AttributeError (~3 µs on this machine)."""
    state = request.scope["state"]
    admission: Admission | None = state.get("admission")
    if admission is None:
        presented = Presented.of(request)
        gate: Gate = request.app.state.gate
        admission = await gate.admit(
            state["client_ip"],
            presented.key.key_id if presented.key else None,
            presented.digest,
            _replay_name(request, presented),
        )
        state["admission"] = admission
        state["presented"] = presented
        state["idempotency_prefetch"] = admission.replay
        # The IP bucket guards every caller, keyless and wrong-key ones included.
        limited(admission.ip, request)
    return admission


async def authenticate_request(request: Request) -> Principal:
    """The principal of a request under an API key, authenticated once per request."""
    principal: Principal | None = request.scope["state"].get("principal")
    if principal is None:
        principal = await _authenticate(request)
        request.scope["state"]["principal"] = principal
    # Set in every task that asks (the guard's and the endpoint's are two), so whatever the
    # request renders says whether it is live or test data.
    acting_in(livemode=principal.livemode)
    return principal


async def _authenticate(request: Request) -> Principal:
    admission = await admit(request)
    state = request.scope["state"]
    presented: Presented = state["presented"]
    if not presented.raw:
        raise MissingApiKey("Send your API key as `Authorization: Bearer wsk_live_…`.")
    if presented.key is None or presented.digest is None or presented.credential is None:
        raise InvalidApiKey("The API key is not valid.")
    verifier: KeyVerifier = request.app.state.key_verifier
    verified = await verifier.verify(
        presented.key, presented.digest, admission.cached, admission.generation
    )
    # From here the key is known to be its owner's: even a refusal is its organization's to see.
    state["identified_key"] = verified
    client_ip: str = state["client_ip"]
    now = utc_now()
    _check_policy(verified, client_ip, now.timestamp())
    gate: Gate = request.app.state.gate
    limit = gate.key_limit(verified.plan)
    if limit is not None:
        limited(admission.key or await gate.take_for_key(verified.key_id, limit), request)
    verifier.touch(verified.api_key_uuid, client_ip, now)
    return Principal(
        organization_id=verified.organization_uuid,
        # The key cache compared the whole key, prefix included, and the database check
        # refuses a key under the other prefix: the prefix tells the mode.
        livemode=presented.key.livemode,
        api_key_id=verified.api_key_uuid,
        key_id=verified.key_id,
        scopes=frozenset(verified.scopes),
        plan=verified.plan,
        client_ip=client_ip,
        expires_at=verified.expires_at,
        ip_allowlist=verified.ip_allowlist,
        credential=presented.credential,
    )


async def authenticate(
    request: Request,
    documented: Annotated[None, Security(bearer_scheme)],
) -> Principal:
    # `documented` puts the Bearer scheme in the OpenAPI document; `admit` reads the header.
    return await authenticate_request(request)


AuthenticatedPrincipal = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check_scope(principal: AuthenticatedPrincipal) -> Principal:
        if not grants(principal.scopes, scope):
            raise InsufficientScope(f"This key lacks the scope {scope}.", required_scope=str(scope))
        return principal

    async def before_body(request: Request) -> None:
        await check_scope(await authenticate_request(request))

    # Read when the OpenAPI document is built, so each operation names its scope.
    check_scope.required_scope = scope  # type: ignore[attr-defined]
    with_guard(check_scope, before_body)
    return check_scope
