"""Who may manage kiosks (API keys with kiosks:*), and how a kiosk proves itself on ingest."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from worksible_api.auth.dependencies import admit, limited, require
from worksible_api.auth.gate import Gate
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope
from worksible_api.config import Settings
from worksible_api.domains.kiosks.repository import load_for_secret
from worksible_api.domains.kiosks.schemas import KioskStatus
from worksible_api.domains.kiosks.secrets import digest_matches, parse_kiosk_secret
from worksible_api.errors import InvalidKioskSecret, PlanNotEligible
from worksible_api.guards import with_guard
from worksible_api.idempotency.credential import Credential
from worksible_api.kit.fields import acting_in
from worksible_api.models import Kiosk
from worksible_api.models.organization import API_ELIGIBLE_PLANS
from worksible_api.ratelimit.limits import Limit

KiosksRead = Annotated[Principal, Depends(require(Scope.KIOSKS_READ))]
KiosksWrite = Annotated[Principal, Depends(require(Scope.KIOSKS_WRITE))]

KIOSK_SECRET_HEADER = "X-Kiosk-Secret"
kiosk_secret_scheme = APIKeyHeader(
    name=KIOSK_SECRET_HEADER,
    auto_error=False,
    scheme_name="KioskSecret",
    description="A kiosk's secret (`wsk_kiosk_…`), for `POST /v1/clock-events/ingest` only.",
)

# Batches per second and burst for one kiosk; RATE_LIMIT_KEY_* override them as they do the
# per-key limits, since a kiosk secret is a credential like a key.
DEFAULT_KIOSK_LIMIT = Limit(per_second=5, burst=20)
# One detail for every refusal: no hint whether the kiosk exists, was revoked or rotated.
REFUSAL = "The kiosk secret is missing or not valid."


def kiosk_limit(settings: Settings) -> Limit:
    return Limit(
        settings.rate_limit_key_per_second or DEFAULT_KIOSK_LIMIT.per_second,
        settings.rate_limit_key_burst or DEFAULT_KIOSK_LIMIT.burst,
    )


def kiosk_public_id(secret_id: str) -> str:
    """What names a kiosk's bucket and idempotency records in Redis, apart from API keys'."""
    return f"kiosk:{secret_id}"


@dataclass(frozen=True)
class KioskCaller:
    """A kiosk that proved itself on ingest, and the secret it did so with."""

    kiosk: Kiosk
    # For the batch's idempotency records, which are the kiosk's own (API.md §5).
    credential: Credential
    # The mode of the kiosk's organization (API.md §17).
    livemode: bool


async def authenticate_kiosk_request(request: Request) -> KioskCaller:
    """The kiosk whose secret came in `X-Kiosk-Secret`, of any organization; 401 otherwise.

    The client IP's bucket was taken on admission, so guessing secrets costs tokens like any
    unauthenticated call; the kiosk's own bucket is taken only once the secret matched, so
    knowing a kiosk's public id does not let anyone drain its budget. The row is read on every
    batch (no cache): a revoke, a rotation or a plan change binds the next batch.
    """
    caller: KioskCaller | None = getattr(request.state, "kiosk_caller", None)
    if caller is None:
        caller = await _authenticate_kiosk(request)
        request.state.kiosk_caller = caller
    # A test key's kiosk belongs to the test twin: what the batch records is test data.
    acting_in(livemode=caller.livemode)
    return caller


async def _authenticate_kiosk(request: Request) -> KioskCaller:
    await admit(request)
    presented = request.headers.get(KIOSK_SECRET_HEADER, "").strip()
    secret = parse_kiosk_secret(presented) if presented else None
    found = None
    if secret is not None:
        async with request.app.state.read_sessionmaker() as session:
            found = await load_for_secret(session, secret.secret_id)
    kiosk, plan, livemode = found if found else (None, None, True)
    matches = digest_matches(secret, kiosk.secret_digest if kiosk else None)
    if kiosk is None or secret is None or not matches or kiosk.status != KioskStatus.ACTIVE:
        raise InvalidKioskSecret(REFUSAL)
    if plan not in API_ELIGIBLE_PLANS:
        raise PlanNotEligible(f"The {plan} plan does not include API access.")
    gate: Gate = request.app.state.gate
    limit = kiosk_limit(request.app.state.settings)
    limited(await gate.take_for_key(kiosk_public_id(kiosk.secret_id), limit), request)
    caller = KioskCaller(kiosk, Credential(secret.full, kiosk_public_id(kiosk.secret_id)), livemode)
    request.state.kiosk_caller = caller
    return caller


async def authenticate_kiosk(
    request: Request, presented: Annotated[str | None, Security(kiosk_secret_scheme)]
) -> KioskCaller:
    # `presented` puts the scheme in the OpenAPI document; the guard read the same header.
    return await authenticate_kiosk_request(request)


async def _before_body(request: Request) -> None:
    await authenticate_kiosk_request(request)


with_guard(authenticate_kiosk, _before_body)
AuthenticatedKiosk = Annotated[KioskCaller, Depends(authenticate_kiosk)]
