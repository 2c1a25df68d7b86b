"""API key rules (API.md §2): plan gating, no escalation, lifetimes, revoke and rotate.

A key manages keys within its own bounds: it never grants, and never rotates, changes or
revokes a key holding, a scope it lacks (it may always revoke itself), and a key it creates
expires no later and accepts no wider set of client addresses than itself. The operator (the
CLI) is not bounded.
"""

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.keys import format_key, hash_secret, new_key_id, new_secret
from worksible_api.auth.principal import Principal
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
from worksible_api.domains.organizations.repository import OrganizationRepository, ensure_twin
from worksible_api.errors import InsufficientScope, InvalidState, PlanNotEligible, ValidationFailed
from worksible_api.kit.time import utc_now
from worksible_api.models import ApiKey, Organization
from worksible_api.models.organization import API_ELIGIBLE_PLANS, IP_ALLOWLIST_PLANS


@dataclass(frozen=True)
class Actor:
    """Who manages keys, and the bounds a key manages keys within."""

    scopes: frozenset[str]
    api_key_id: UUID | None = None  # None: the operator
    expires_at: datetime | None = None
    ip_allowlist: tuple[str, ...] = ()  # empty: any address

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        return cls(
            principal.scopes,
            principal.api_key_id,
            datetime.fromtimestamp(principal.expires_at, UTC),
            principal.ip_allowlist,
        )


# The operator (the CLI): every scope, no bounds.
OPERATOR = Actor(frozenset({ALL}))


def _within(cidr: str, allowlist: Collection[str]) -> bool:
    network = ip_network(cidr)
    return any(
        network.version == outer.version and network.subnet_of(outer)  # type: ignore[arg-type]
        for outer in map(ip_network, allowlist)
    )


class ApiKeyService:
    def __init__(
        self,
        session: AsyncSession,
        organization_id: UUID,
        verifier: KeyVerifier,
        *,
        actor: Actor,
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.verifier = verifier
        self.actor = actor
        self.keys = ApiKeyRepository(session, organization_id)

    async def _organization(self) -> Organization:
        return await OrganizationRepository(self.session, self.organization_id).current()

    def _check_no_escalation(self, scopes: Collection[str]) -> None:
        missing = missing_scopes(self.actor.scopes, scopes)
        if missing:
            raise InsufficientScope(
                f"A key cannot grant scopes it does not hold itself: {', '.join(missing)}.",
                required_scope=missing[0],
            )

    def _check_may_manage(self, api_key: ApiKey, action: str) -> None:
        """A key acts on keys holding no scope it lacks (itself included)."""
        missing = missing_scopes(self.actor.scopes, api_key.scopes)
        if missing:
            raise InsufficientScope(
                f"A key cannot {action} a key holding scopes it does not hold itself: "
                f"{', '.join(missing)}.",
                required_scope=missing[0],
            )

    def _bounded_allowlist(self, requested: list[str], *, loc: str) -> list[str]:
        """`requested`, checked to reach no address the actor cannot; the actor's own when empty."""
        bound = self.actor.ip_allowlist
        if not bound:
            return list(dict.fromkeys(requested))
        if not requested:
            return list(bound)
        outside = [cidr for cidr in requested if not _within(cidr, bound)]
        if outside:
            raise ValidationFailed.for_field(
                ["body", loc],
                f"{', '.join(outside)} reaches beyond the IP allowlist of the key making the "
                f"request ({', '.join(bound)}).",
            )
        return list(dict.fromkeys(requested))

    @staticmethod
    def _check_allowlist_plan(organization: Organization, ip_allowlist: Collection[str]) -> None:
        if ip_allowlist and organization.plan not in IP_ALLOWLIST_PLANS:
            raise PlanNotEligible("IP allowlists are available on the Enterprise plan only.")

    def _expiry(self, requested: datetime | None, now: datetime) -> datetime:
        latest = self.actor.expires_at
        if requested is None:
            default = now + timedelta(days=DEFAULT_LIFETIME_DAYS)
            return min(default, latest) if latest else default
        if latest is not None and requested > latest:
            raise ValidationFailed.for_field(
                ["body", "expires_at"],
                f"expires_at cannot be later than the expiry of the key making the request "
                f"({latest:%Y-%m-%dT%H:%M:%SZ}).",
            )
        if requested <= now:
            raise ValidationFailed.for_field(
                ["body", "expires_at"], "expires_at must be in the future."
            )
        if requested > now + timedelta(days=MAX_LIFETIME_DAYS):
            raise ValidationFailed.for_field(
                ["body", "expires_at"], "expires_at can be at most 2 years from now."
            )
        return requested

    async def _organization_in_mode(self, livemode: bool | None) -> Organization:
        """The organization a new key acts for: the caller's, or its test twin (API.md §17),
        made on the first test key. Test mode never reaches live data: a test caller gets no
        live key."""
        organization = await self._organization()
        if livemode is None or livemode == organization.livemode:
            return organization
        if livemode:
            raise ValidationFailed.for_field(
                ["body", "livemode"], "A test key can create only test keys."
            )
        return await ensure_twin(self.session, organization)

    async def create(self, data: ApiKeyCreate) -> tuple[ApiKey, str]:
        organization = await self._organization_in_mode(data.livemode)
        if organization.plan not in API_ELIGIBLE_PLANS:
            raise PlanNotEligible(f"The {organization.plan} plan does not include API access.")
        scopes = list(dict.fromkeys(data.scopes)) if data.scopes else sorted(self.actor.scopes)
        self._check_no_escalation(scopes)
        self._check_allowlist_plan(organization, data.ip_allowlist)
        ip_allowlist = self._bounded_allowlist(data.ip_allowlist, loc="ip_allowlist")
        key_id, secret = new_key_id(), new_secret()
        api_key = ApiKey(
            organization_id=organization.id,
            livemode=organization.livemode,
            key_id=key_id,
            secret_hash=await asyncio.to_thread(hash_secret, secret),
            name=data.name,
            scopes=scopes,
            expires_at=self._expiry(data.expires_at, utc_now()),
            ip_allowlist=ip_allowlist,
            billing_contact=data.billing_contact or organization.billing_email,
            metadata_=data.metadata,
        )
        await self.keys.add(api_key)
        full_key = format_key(key_id, secret, livemode=api_key.livemode)
        after_commit(self.session, lambda: self.verifier.prove_new(api_key, full_key))
        return api_key, full_key

    async def update(self, api_key: ApiKey, data: ApiKeyUpdate) -> ApiKey:
        changes = data.model_dump(exclude_unset=True)
        for field in ("name", "scopes", "ip_allowlist", "metadata"):
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        self._check_may_manage(api_key, "change")
        if data.scopes is not None:
            self._check_no_escalation(data.scopes)
            api_key.scopes = list(dict.fromkeys(data.scopes))
        if data.ip_allowlist is not None:
            self._check_allowlist_plan(await self._organization(), data.ip_allowlist)
            api_key.ip_allowlist = self._bounded_allowlist(data.ip_allowlist, loc="ip_allowlist")
        if "billing_contact" in changes:
            contact = data.billing_contact or (await self._organization()).billing_email
            api_key.billing_contact = contact
        if data.name is not None:
            api_key.name = data.name
        if data.metadata is not None:
            api_key.metadata_ = data.metadata
        await self.session.flush()
        self._forget_after_commit(api_key)
        return api_key

    async def revoke(self, api_key: ApiKey) -> ApiKey:
        if api_key.id != self.actor.api_key_id:
            self._check_may_manage(api_key, "revoke")
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
        self._check_may_manage(api_key, "rotate")
        secret = new_secret()
        api_key.secret_hash = await asyncio.to_thread(hash_secret, secret)
        await self.session.flush()
        self._forget_after_commit(api_key)
        full_key = format_key(api_key.key_id, secret, livemode=api_key.livemode)
        after_commit(self.session, lambda: self.verifier.prove_new(api_key, full_key))
        return api_key, full_key

    def _forget_after_commit(self, api_key: ApiKey) -> None:
        key_id = api_key.key_id
        after_commit(self.session, lambda: self.verifier.forget([key_id]))
