"""A project's members: freelancers with a draft or active contract on it (API.md §13)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Subquery, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import ListColumns, Slice, paginate_by
from worksible_api.kit.pagination import Cursor, ListParams
from worksible_api.models import Contract, Freelancer, Project

MEMBER_STATUSES = ("draft", "active")


class MemberRepository:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def _memberships(self, project: Project) -> Subquery:
        """One row per member: its contract ids, its latest contract's creation (which orders
        the list) and the latest change of any of its contracts."""
        statement = (
            select(
                Contract.freelancer_id,
                func.max(Contract.created_at).label("latest"),
                func.max(Contract.updated_at).label("changed"),
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
        return statement.subquery("memberships")

    async def page(
        self, project: Project, params: ListParams
    ) -> Slice[tuple[Freelancer, list[UUID], datetime]]:
        """One page, the member with the newest contract first, ties by freelancer id.

        created_gte/created_lt filter on that newest contract's creation; a member changes
        when its freelancer or any of its contracts does (updated_gte, order=updated_at).
        """
        memberships = self._memberships(project)
        changed = func.greatest(memberships.c.changed, Freelancer.updated_at)
        statement = (
            select(Freelancer, memberships.c.contract_ids, changed.label("changed"))
            .join(memberships, memberships.c.freelancer_id == Freelancer.id)
            .where(Freelancer.organization_id == self.organization_id)
        )
        columns = ListColumns(
            memberships.c.latest,
            changed,
            Freelancer.id,
            (memberships.c.latest, Freelancer.id),
        )
        return await paginate_by(
            self.session,
            statement,
            params,
            columns,
            lambda row: Cursor(row.changed, str(row.Freelancer.id)),
            scalars=False,
        )
