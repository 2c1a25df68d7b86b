from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of one organization, as authenticated for this request."""

    organization_id: UUID
    api_key_id: UUID
    key_id: str
    scopes: frozenset[str]
    plan: str
    client_ip: str
