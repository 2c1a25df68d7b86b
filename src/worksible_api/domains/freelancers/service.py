"""Freelancer rules (API.md §9): emails unique per organization, DELETE archives."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.freelancers.repository import FreelancerRepository
from worksible_api.domains.freelancers.schemas import (
    FreelancerCreate,
    FreelancerOut,
    FreelancerStatus,
    FreelancerUpdate,
)
from worksible_api.domains.organizations.repository import ORGANIZATION_DEFAULT_CURRENCY
from worksible_api.errors import ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import Freelancer

FREELANCER_STATES = StateMachine(
    "freelancer",
    {"archive": transition(FreelancerStatus.ACTIVE, to=FreelancerStatus.ARCHIVED)},
)
# Every writable field is required on the object, so none may be set to null.
NOT_NULLABLE = ("email", "first_name", "last_name", "country", "default_currency", "metadata")


def _attribute(field: str) -> str:
    return "metadata_" if field == "metadata" else field


class FreelancerService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.freelancers = FreelancerRepository(session, organization_id)

    async def create(self, data: FreelancerCreate) -> FreelancerOut:
        # A taken email is found by the unique index when the row is written: a check before
        # it would cost every create a query and still miss a concurrent request's row. The
        # organization's default currency is read within the INSERT, not by a query first.
        freelancer = await self.freelancers.insert(
            email=data.email,
            first_name=data.first_name,
            last_name=data.last_name,
            country=data.country,
            default_currency=data.default_currency or ORGANIZATION_DEFAULT_CURRENCY,
            status=FreelancerStatus.ACTIVE,
            external_id=data.external_id,
            metadata_=data.metadata,
        )
        created = FreelancerOut.model_validate(freelancer)
        emit(self.session, self.organization_id, EventType.FREELANCER_CREATED, created)
        return created

    async def update(self, freelancer: Freelancer, data: FreelancerUpdate) -> Freelancer:
        """`freelancer` is locked by the caller."""
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        for field, value in changes.items():
            setattr(freelancer, _attribute(field), value)
        # Values equal to the stored ones change nothing: no UPDATE is sent and no event told.
        changed = self.session.is_modified(freelancer)
        await self.freelancers.flush_email(freelancer.email)
        return self._emitted(EventType.FREELANCER_UPDATED, freelancer) if changed else freelancer

    async def archive(self, freelancer: Freelancer) -> Freelancer:
        """`freelancer` is locked FOR UPDATE by the caller: contract creation and timesheet
        writes lock the same row, so none of them commits for a freelancer archived meanwhile.
        Archiving twice answers the object unchanged (DELETE is idempotent)."""
        if freelancer.status == FreelancerStatus.ARCHIVED:
            return freelancer
        FREELANCER_STATES.apply(freelancer, "archive")
        freelancer.archived_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.FREELANCER_ARCHIVED, freelancer)

    def _emitted(self, type_: EventType, freelancer: Freelancer) -> Freelancer:
        """Records the change as an event, with the freelancer as the API now answers it."""
        emit(self.session, self.organization_id, type_, FreelancerOut.model_validate(freelancer))
        return freelancer
