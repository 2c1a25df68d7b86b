"""Contract rules (API.md §9): money by type, an active freelancer, the draft→active→ended life."""

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.contracts.repository import (
    ContractRepository,
    FreelancerLookup,
    ProjectLookup,
)
from worksible_api.domains.contracts.schemas import (
    ContractCreate,
    ContractOut,
    ContractStatus,
    ContractType,
    ContractUpdate,
    money_matches_type,
)
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.errors import FreelancerArchived, InvalidState, ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import Contract, Freelancer, Project

contract_machine = StateMachine(
    "contract",
    {
        "activate": transition(ContractStatus.DRAFT, to=ContractStatus.ACTIVE),
        "end": transition(ContractStatus.ACTIVE, to=ContractStatus.ENDED),
    },
)

# What PATCH may change in each status; metadata may change in any.
DRAFT_FIELDS = frozenset({"project_id", "rate", "amount", "start_date", "end_date"})
ACTIVE_FIELDS = frozenset({"end_date"})
NOT_NULLABLE = ("rate", "amount", "start_date", "metadata")


def _check_freelancer_active(freelancer: Freelancer) -> None:
    if freelancer.status != "active":
        raise FreelancerArchived(
            f"Freelancer {freelancer.id} is archived and cannot have contracts made or activated."
        )


def _check_project_active(project: Project) -> None:
    if project.status != "active":
        raise InvalidState(
            f"Project {project.id} is {project.status}: it takes no new contracts.",
            current_status=project.status,
        )


# Fields a contract takes in any status: the client's own.
ANY_STATUS_FIELDS = frozenset({"metadata", "external_id"})


class ContractService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.contracts = ContractRepository(session, organization_id)
        self.freelancers = FreelancerLookup(session, organization_id)
        self.projects = ProjectLookup(session, organization_id)

    async def _project(self, raw_id: str) -> Project:
        # FOR SHARE: archiving the project waits for this write's commit, or this write sees it.
        return await self.projects.referenced_locked(raw_id, "project_id", shared=True)

    async def create(self, data: ContractCreate) -> Contract:
        # Rule "a contract's freelancer must be active": the freelancer row is locked FOR
        # UPDATE, the lock archiving takes, so an archive and this create never interleave.
        freelancer = await self.freelancers.referenced_locked(data.freelancer_id, "freelancer_id")
        project = await self._project(data.project_id) if data.project_id is not None else None
        _check_freelancer_active(freelancer)
        if project is not None:
            _check_project_active(project)
        contract = Contract(
            organization_id=self.contracts.organization_id,
            freelancer_id=freelancer.id,
            project_id=project.id if project else None,
            type=data.type,
            rate=data.rate,
            amount=data.amount,
            currency=data.currency or freelancer.default_currency,
            start_date=data.start_date,
            end_date=data.end_date,
            external_id=data.external_id,
            metadata_=data.metadata,
        )
        await self.contracts.add(contract)
        return self._emitted(EventType.CONTRACT_CREATED, contract)

    async def activate(self, contract: Contract) -> Contract:
        # Same freelancer lock as create (taken before the contract's, per the lock order), so a
        # contract never becomes active for a freelancer archived at the same moment.
        freelancer = await self.freelancers.lock(contract.freelancer_id)
        contract = await self.contracts.lock(contract.id)
        contract_machine.check(contract, "activate")
        _check_freelancer_active(freelancer)
        contract_machine.apply(contract, "activate")
        contract.activated_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.CONTRACT_ACTIVATED, contract)

    async def end(self, contract: Contract) -> Contract:
        contract_machine.apply(contract, "end")
        contract.ended_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.CONTRACT_ENDED, contract)

    async def update(self, contract: Contract, data: ContractUpdate) -> Contract:
        changes = data.model_dump(exclude_unset=True)
        # The body's own checks (422) come before the rules of the contract's status (409).
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        for field in ("rate", "amount"):
            if field in changes:
                self._check_money_field(contract, field, changes[field])
        self._check_date_order(contract, changes)
        project = None
        if changes.get("project_id") is not None:
            project = await self._project(changes["project_id"])
            changes["project_id"] = project.id
        self._check_status_allows(contract, changes.keys())
        if project is not None:
            _check_project_active(project)
        await self._check_end_after_booked_time(contract, changes)
        for field, value in changes.items():
            setattr(contract, "metadata_" if field == "metadata" else field, value)
        await self.session.flush()
        return contract

    def _emitted(self, type_: EventType, contract: Contract) -> Contract:
        """Records the change as an event, with the contract as the API now answers it."""
        emit(self.session, self.organization_id, type_, ContractOut.model_validate(contract))
        return contract

    @staticmethod
    def _check_money_field(contract: Contract, field: str, value: int) -> None:
        try:
            money_matches_type(field, value, ContractType(contract.type))
        except ValueError as exc:
            raise ValidationFailed.for_field(["body", field], str(exc)) from None

    @staticmethod
    def _check_date_order(contract: Contract, changes: dict[str, Any]) -> None:
        start: date = changes.get("start_date", contract.start_date)
        end: date | None = changes.get("end_date", contract.end_date)
        if end is not None and end < start:
            field = "end_date" if "end_date" in changes else "start_date"
            raise ValidationFailed.for_field(
                ["body", field], "end_date must be on or after start_date."
            )

    @staticmethod
    def _check_status_allows(contract: Contract, fields: Iterable[str]) -> None:
        allowed = {
            ContractStatus.DRAFT: DRAFT_FIELDS,
            ContractStatus.ACTIVE: ACTIVE_FIELDS,
        }.get(ContractStatus(contract.status), frozenset())
        refused = sorted(set(fields) - allowed - ANY_STATUS_FIELDS)
        if refused:
            raise InvalidState(
                f"Cannot change {', '.join(refused)} on a contract that is {contract.status}.",
                current_status=contract.status,
            )

    async def _check_end_after_booked_time(
        self, contract: Contract, changes: dict[str, Any]
    ) -> None:
        # An active contract's end may be scheduled, but not before time already booked on it.
        # Timesheet writes hold this contract FOR SHARE and we hold it FOR UPDATE, so no entry
        # lands past the new end while we look.
        end = changes.get("end_date")
        if contract.status != ContractStatus.ACTIVE or end is None:
            return
        latest = await self.contracts.latest_work_date(contract.id)
        if latest is not None and latest > end:
            raise ValidationFailed.for_field(
                ["body", "end_date"],
                f"end_date cannot be before {latest}: time is booked on that day.",
            )
