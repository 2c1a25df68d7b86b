"""Who may manage kiosks (API keys with kiosks:*), and how a kiosk proves itself on ingest."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from worksible_api.auth.dependencies import _limited, require
from worksible_api.auth.gate import Gate
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope
from worksible_api.config import Settings
from worksible_api.db.session import SessionDep
from worksible_api.domains.kiosks.repository import load_for_secret
from worksible_api.domains.kiosks.schemas import KioskStatus
from worksible_api.domains.kiosks.secrets import digest_matches, parse_kiosk_secret
from worksible_api.errors import InvalidKioskSecret
from worksible_api.models import Kiosk
from worksible_api.ratelimit.limits import Limit

KiosksRead = Annotated[Principal, Depends(require(Scope.KIOSKS_READ))]
KiosksWrite = Annotated[Principal, Depends(require(Scope.KIOSKS_WRITE))]

kiosk_secret_scheme = APIKeyHeader(
    name="X-Kiosk-Secret",
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


async def authenticate_kiosk(
    request: Request,
    session: SessionDep,
    presented: Annotated[str | None, Security(kiosk_secret_scheme)],
) -> Kiosk:
    """The kiosk whose secret came in `X-Kiosk-Secret`, of any organization; 401 otherwise.

    The client IP's bucket is taken first, so guessing secrets costs tokens like any
    unauthenticated call; the kiosk's own bucket only once the secret matched, so knowing a
    kiosk's public id does not let anyone drain its budget.
    """
    gate: Gate = request.app.state.gate
    admission = await gate.admit(request.state.client_ip, None, None)
    _limited(admission.ip, request)
    secret = parse_kiosk_secret(presented.strip()) if presented else None
    kiosk = await load_for_secret(session, secret.secret_id) if secret else None
    matches = digest_matches(secret, kiosk.secret_digest if kiosk else None)
    if kiosk is None or not matches or kiosk.status != KioskStatus.ACTIVE:
        raise InvalidKioskSecret(REFUSAL)
    limit = kiosk_limit(request.app.state.settings)
    _limited(await gate.take_for_key(f"kiosk:{kiosk.secret_id}", limit), request)
    return kiosk


AuthenticatedKiosk = Annotated[Kiosk, Depends(authenticate_kiosk)]
