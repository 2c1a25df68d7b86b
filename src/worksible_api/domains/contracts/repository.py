"""Contracts, and the freelancer and project rows they name, read through this domain's SQL.

Lock order across the contract and timesheet domains: freelancer, then contract, then
timesheet (and project after freelancer). Every write takes its locks in that order, so two
writes never wait on each other in a cycle.
"""

import functools
from datetime import date
from typing import TypeVar, TypeVarTuple
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from worksible_api.db.base import Base
from worksible_api.db.filters import Filters, equals, same_id
from worksible_api.db.repository import Repository
from worksible_api.db.transaction import transaction_driver
from worksible_api.errors import ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.models import Contract, Freelancer, Organization, Project, Timesheet

ModelT = TypeVar("ModelT", bound=Base)
ColumnsT = TypeVarTuple("ColumnsT")


@functools.cache
def _lock_only_sql(model: type[Base]) -> str:
    table = model.__tablename__
    return f"SELECT 1 FROM {table} WHERE id = $1 AND organization_id = $2 FOR UPDATE"


class LockingRepository(Repository[ModelT]):
    async def lock(self, object_id: UUID, *, shared: bool = False) -> ModelT:
        """The row, re-read under FOR UPDATE (or FOR SHARE) once the lock is held."""
        statement, parameters = self.by_id(object_id, "share" if shared else "update")
        result: ModelT = (await self.session.execute(statement, parameters)).scalar_one()
        return result

    async def lock_only(self, object_id: UUID) -> None:
        """Takes the row's FOR UPDATE lock without reading the row into the session: for a
        lock that only serializes (a freelancer's, for its clashes). Sent on the driver: as an
        ORM read it cost an approval a row loaded and the session's execute for nothing."""
        driver = await transaction_driver(self.session)
        await driver.execute(_lock_only_sql(self.model), object_id, self.organization_id)

    async def referenced_locked(self, raw_id: str, field: str, *, shared: bool = False) -> ModelT:
        """Like `referenced`, under a row lock: unknown or another organization's is 422."""
        object_id = parse_id(raw_id)
        found = None
        if object_id is not None:
            statement, parameters = self.by_id(object_id, "share" if shared else "update")
            found = (await self.session.execute(statement, parameters)).scalar_one_or_none()
        if found is None:
            raise ValidationFailed.for_field(
                ["body", field], f"No such {self.object_name}: {raw_id}"
            )
        return found


class FreelancerLookup(LockingRepository[Freelancer]):
    model = Freelancer
    object_name = "freelancer"


class ProjectLookup(LockingRepository[Project]):
    model = Project
    object_name = "project"


# The time zone whose local date a contract's time is dated by (API.md §17): its project's,
# else its organization's (a contract without a project included). Read with `in_time_zone`.
CONTRACT_TIME_ZONE: ColumnElement[str] = func.coalesce(Project.time_zone, Organization.time_zone)


def in_time_zone(statement: Select[*ColumnsT]) -> Select[*ColumnsT]:
    """`statement` on contracts, joined to what CONTRACT_TIME_ZONE reads."""
    return (
        statement.select_from(Contract)
        .join(Organization, Organization.id == Contract.organization_id)
        .outerjoin(Project, Project.id == Contract.project_id)
    )


class ContractRepository(LockingRepository[Contract]):
    model = Contract
    object_name = "contract"

    filters = Filters(
        status=equals(Contract.status),
        freelancer_id=same_id(Contract.freelancer_id),
        project_id=same_id(Contract.project_id),
        external_id=equals(Contract.external_id),
    )

    async def time_zone(self, contract: Contract) -> str:
        statement = in_time_zone(select(CONTRACT_TIME_ZONE)).where(
            Contract.organization_id == self.organization_id, Contract.id == contract.id
        )
        time_zone: str = (await self.session.execute(statement)).scalar_one()
        return time_zone

    async def latest_work_date(self, contract_id: UUID) -> date | None:
        """The last day with time booked on the contract, rejected entries aside."""
        statement = (
            select(Timesheet.work_date)
            .where(Timesheet.organization_id == self.organization_id)
            .where(Timesheet.contract_id == contract_id)
            .where(Timesheet.status != "rejected")
            .order_by(Timesheet.work_date.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()
