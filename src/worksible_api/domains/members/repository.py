"""A project's members: freelancers with a draft or active contract on it (API.md §13)."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Subquery, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.kit.pagination import ListParams
from worksible_api.models import Contract, Freelancer, Project

MEMBER_STATUSES = ("draft", "active")


class MemberRepository:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def _memberships(self, project: Project, params: ListParams) -> Subquery:
        """One row per member: its contract ids and its latest contract's creation, which
        orders the list and is what created_gte/created_lt filter on."""
        latest = func.max(Contract.created_at)
        statement = (
            select(
                Contract.freelancer_id,
                latest.label("latest"),
                func.array_agg(
                    aggregate_order_by(Contract.id, Contract.created_at.desc(), Contract.id.desc())
                ).label("contract_ids"),
            )
            .where(
                Contract.organization_id == self.organization_id,
                Contract.project_id == project.id,
                Contract.status.in_(MEMBER_STATUSES),
            )
            .group_by(Contract.freelancer_id)
        )
        if params.created_gte is not None:
            statement = statement.having(latest >= params.created_gte)
        if params.created_lt is not None:
            statement = statement.having(latest < params.created_lt)
        return statement.subquery("memberships")

    async def page(
        self, project: Project, params: ListParams
    ) -> tuple[int, Sequence[tuple[Freelancer, list[UUID]]]]:
        """One page, the member with the newest contract first, ties by freelancer id."""
        memberships = self._memberships(project, params)
        count = (
            await self.session.execute(select(func.count()).select_from(memberships))
        ).scalar_one()
        statement = (
            select(Freelancer, memberships.c.contract_ids)
            .join(memberships, memberships.c.freelancer_id == Freelancer.id)
            .where(Freelancer.organization_id == self.organization_id)
            .order_by(memberships.c.latest.desc(), Freelancer.id.desc())
            .offset(params.offset)
            .limit(params.page_size)
        )
        rows = (await self.session.execute(statement)).all()
        return count, [(freelancer, contract_ids) for freelancer, contract_ids in rows]
