"""Cost code rules (API.md §13): codes unique per organization, DELETE archives."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.cost_codes.repository import CostCodeRepository, code_conflict
from worksible_api.domains.cost_codes.schemas import (
    CostCodeCreate,
    CostCodeStatus,
    CostCodeUpdate,
)
from worksible_api.errors import ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.models import CostCode

COST_CODE_STATES = StateMachine(
    "cost code", {"archive": transition(CostCodeStatus.ACTIVE, to=CostCodeStatus.ARCHIVED)}
)
NOT_NULLABLE = ("name", "metadata")


class CostCodeService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.cost_codes = CostCodeRepository(session, organization_id)

    async def create(self, data: CostCodeCreate) -> CostCode:
        if await self.cost_codes.code_taken(data.code):
            raise code_conflict(data.code)
        cost_code = CostCode(
            organization_id=self.organization_id,
            code=data.code,
            name=data.name,
            status=CostCodeStatus.ACTIVE,
            external_id=data.external_id,
            metadata_=data.metadata,
        )
        return await self.cost_codes.add_unique(cost_code)

    async def update(self, cost_code: CostCode, data: CostCodeUpdate) -> CostCode:
        """Archived cost codes may still be renamed: elements that use them keep showing them."""
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        for field, value in changes.items():
            setattr(cost_code, "metadata_" if field == "metadata" else field, value)
        await self.session.flush()
        return cost_code

    async def archive(self, cost_code: CostCode) -> CostCode:
        """`cost_code` is locked FOR UPDATE by the caller; WBS writes that name it hold it FOR
        SHARE, so an element never gets a cost code archived at the same moment. Archiving
        twice answers the object unchanged (DELETE is idempotent)."""
        if cost_code.status == CostCodeStatus.ARCHIVED:
            return cost_code
        COST_CODE_STATES.apply(cost_code, "archive")
        await self.session.flush()
        return cost_code
