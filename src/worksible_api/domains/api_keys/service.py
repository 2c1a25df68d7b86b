"""API key rules (API.md §2): plan gating, no escalation, lifetimes, revoke and rotate."""

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.keys import format_key, hash_secret, new_key_id, new_secret
from worksible_api.auth.scopes import ALL, missing_scopes
from worksible_api.auth.verifier import KeyVerifier
from worksible_api.db.session import after_commit
from worksible_api.domains.api_keys.repository import ApiKeyRepository
from worksible_api.domains.api_keys.schemas import (
    DEFAULT_LIFETIME_DAYS,
    MAX_LIFETIME_DAYS,
    ApiKeyCreate,
    ApiKeyUpdate,
)
from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.errors import InsufficientScope, InvalidState, PlanNotEligible, ValidationFailed
from worksible_api.kit.time import utc_now
from worksible_api.models import ApiKey, Organization
from worksible_api.models.organization import API_ELIGIBLE_PLANS, IP_ALLOWLIST_PLANS

# The scopes an operator (the CLI) acts with: everything.
OPERATOR_SCOPES: frozenset[str] = frozenset({ALL})


class ApiKeyService:
    def __init__(
        self,
        session: AsyncSession,
        organization_id: UUID,
        verifier: KeyVerifier,
        *,
        acting_scopes: Collection[str],
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.verifier = verifier
        # What the caller holds: it may never hand out more (no escalation).
        self.acting_scopes = acting_scopes
        self.keys = ApiKeyRepository(session, organization_id)

    async def _organization(self) -> Organization:
        return await OrganizationRepository(self.session, self.organization_id).current()

    def _check_no_escalation(self, scopes: Collection[str]) -> None:
        missing = missing_scopes(self.acting_scopes, scopes)
        if missing:
            raise InsufficientScope(
                f"A key cannot grant scopes it does not hold itself: {', '.join(missing)}.",
                required_scope=missing[0],
            )

    @staticmethod
    def _check_allowlist_plan(organization: Organization, ip_allowlist: Collection[str]) -> None:
        if ip_allowlist and organization.plan not in IP_ALLOWLIST_PLANS:
            raise PlanNotEligible("IP allowlists are available on the Enterprise plan only.")

    @staticmethod
    def _expiry(requested: datetime | None, now: datetime) -> datetime:
        if requested is None:
            return now + timedelta(days=DEFAULT_LIFETIME_DAYS)
        if requested <= now:
            raise ValidationFailed.for_field(
                ["body", "expires_at"], "expires_at must be in the future."
            )
        if requested > now + timedelta(days=MAX_LIFETIME_DAYS):
            raise ValidationFailed.for_field(
                ["body", "expires_at"], "expires_at can be at most 2 years from now."
            )
        return requested

    async def create(self, data: ApiKeyCreate) -> tuple[ApiKey, str]:
        organization = await self._organization()
        if organization.plan not in API_ELIGIBLE_PLANS:
            raise PlanNotEligible(f"The {organization.plan} plan does not include API access.")
        scopes = list(dict.fromkeys(data.scopes)) if data.scopes else sorted(self.acting_scopes)
        self._check_no_escalation(scopes)
        self._check_allowlist_plan(organization, data.ip_allowlist)
        key_id, secret = new_key_id(), new_secret()
        api_key = ApiKey(
            organization_id=self.organization_id,
            key_id=key_id,
            secret_hash=await asyncio.to_thread(hash_secret, secret),
            name=data.name,
            scopes=scopes,
            expires_at=self._expiry(data.expires_at, utc_now()),
            ip_allowlist=list(dict.fromkeys(data.ip_allowlist)),
            metadata_=data.metadata,
        )
        await self.keys.add(api_key)
        return api_key, format_key(key_id, secret)

    async def update(self, api_key: ApiKey, data: ApiKeyUpdate) -> ApiKey:
        changes = data.model_dump(exclude_unset=True)
        for field in ("name", "scopes", "ip_allowlist", "metadata"):
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        if data.scopes is not None:
            self._check_no_escalation(data.scopes)
            api_key.scopes = list(dict.fromkeys(data.scopes))
        if data.ip_allowlist is not None:
            self._check_allowlist_plan(await self._organization(), data.ip_allowlist)
            api_key.ip_allowlist = list(dict.fromkeys(data.ip_allowlist))
        if data.name is not None:
            api_key.name = data.name
        if data.metadata is not None:
            api_key.metadata_ = data.metadata
        await self.session.flush()
        self._forget_after_commit(api_key)
        return api_key

    async def revoke(self, api_key: ApiKey) -> ApiKey:
        if api_key.revoked_at is None:
            api_key.revoked_at = utc_now()
            await self.session.flush()
        self._forget_after_commit(api_key)
        return api_key

    async def rotate(self, api_key: ApiKey) -> tuple[ApiKey, str]:
        if api_key.status != "active":
            raise InvalidState(
                f"This key is {api_key.status} and cannot be rotated.",
                current_status=api_key.status,
            )
        self._check_no_escalation(api_key.scopes)
        secret = new_secret()
        api_key.secret_hash = await asyncio.to_thread(hash_secret, secret)
        await self.session.flush()
        self._forget_after_commit(api_key)
        return api_key, format_key(api_key.key_id, secret)

    def _forget_after_commit(self, api_key: ApiKey) -> None:
        key_id = api_key.key_id
        after_commit(self.session, lambda: self.verifier.forget([key_id]))
