from collections.abc import Sequence
from datetime import datetime

from fastapi import FastAPI

from worksible_api.db.session import commit
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.models import ApiKey, Organization


async def create_api_key(
    app: FastAPI,
    organization: Organization,
    *,
    scopes: Sequence[str] = ("*",),
    expires_at: datetime | None = None,
    ip_allowlist: Sequence[str] = (),
    livemode: bool | None = None,
) -> tuple[ApiKey, str]:
    """A key made by the operator, as `worksible-api keys create` does; returns it and its secret."""
    async with app.state.sessionmaker() as session:
        service = ApiKeyService(session, organization.id, app.state.key_verifier, actor=OPERATOR)
        data = ApiKeyCreate(
            scopes=list(scopes),
            expires_at=expires_at,
            ip_allowlist=list(ip_allowlist),
            livemode=livemode,
        )
        api_key, full_key = await service.create(data)
        await commit(session)
        return api_key, full_key


def bearer(full_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {full_key}"}
