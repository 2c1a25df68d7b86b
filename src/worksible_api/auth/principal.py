from dataclasses import dataclass
from uuid import UUID

from worksible_api.idempotency.credential import Credential


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of one organization, as authenticated for this request."""

    organization_id: UUID
    # False for a test key, whose organization is a test twin (API.md §17).
    livemode: bool
    api_key_id: UUID
    key_id: str
    scopes: frozenset[str]
    plan: str
    client_ip: str
    # The key's own limits: a key it creates may not outlive or out-reach it (API.md §2).
    expires_at: float  # Unix seconds
    ip_allowlist: tuple[str, ...]
    # The secret the request was made with, for its idempotency records (API.md §5).
    credential: Credential
