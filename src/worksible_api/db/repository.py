"""The tenant-scoped repository base: another organization's rows do not exist here."""

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import URL

from worksible_api.db.base import Base
from worksible_api.errors import NotFound, ValidationFailed
from worksible_api.kit.pagination import ListParams, Page, page_links

ModelT = TypeVar("ModelT", bound=Base)
OutT = TypeVar("OutT")


def parse_id(raw: str | UUID) -> UUID | None:
    """Path ids are opaque: any string that is not one of ours simply matches nothing (404)."""
    if isinstance(raw, UUID):
        return raw
    try:
        parsed = UUID(raw)
    except ValueError:
        return None
    # Only the form we print is ours; braces, URNs or upper case name nothing.
    return parsed if str(parsed) == raw else None


class Repository(Generic[ModelT]):
    model: type[ModelT]
    # Shown in 404 details, e.g. "No such freelancer: …".
    object_name: str

    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    def scoped(self) -> Select[ModelT]:
        model: Any = self.model
        return select(self.model).where(model.organization_id == self.organization_id)

    async def find(self, raw_id: str | UUID, *, for_update: bool = False) -> ModelT | None:
        object_id = parse_id(raw_id)
        if object_id is None:
            return None
        model: Any = self.model
        statement = self.scoped().where(model.id == object_id)
        if for_update:
            # populate_existing: an object already in the session is refreshed from the row
            # now locked, so the rule that follows reads the committed state, not a stale copy.
            statement = statement.with_for_update().execution_options(populate_existing=True)
        result: ModelT | None = (await self.session.execute(statement)).scalar_one_or_none()
        return result

    async def get(self, raw_id: str | UUID, *, for_update: bool = False) -> ModelT:
        found = await self.find(raw_id, for_update=for_update)
        if found is None:
            raise NotFound(f"No such {self.object_name}: {raw_id}")
        return found

    async def referenced(
        self, raw_id: str | UUID, field: str, *, for_update: bool = False
    ) -> ModelT:
        """An object a body field names: unknown or another organization's is 422 (API.md §1)."""
        found = await self.find(raw_id, for_update=for_update)
        if found is None:
            raise ValidationFailed.for_field(
                ["body", field], f"No such {self.object_name}: {raw_id}"
            )
        return found

    async def add(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def paginate(
        self, statement: Select[ModelT], params: ListParams
    ) -> tuple[int, Sequence[ModelT]]:
        """One page, newest first with ties broken by id, and the total count of matches."""
        model: Any = self.model
        if params.created_gte is not None:
            statement = statement.where(model.created_at >= params.created_gte)
        if params.created_lt is not None:
            statement = statement.where(model.created_at < params.created_lt)
        count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        count = (await self.session.execute(count_statement)).scalar_one()
        page_statement = (
            statement.order_by(model.created_at.desc(), model.id.desc())
            .offset(params.offset)
            .limit(params.page_size)
        )
        rows = (await self.session.execute(page_statement)).scalars().all()
        return count, rows

    async def page(
        self,
        statement: Select[ModelT],
        params: ListParams,
        url: URL,
        render: Callable[[ModelT], OutT],
    ) -> Page[OutT]:
        """A list response (API.md §4) of `statement`, each row rendered by `render`."""
        count, rows = await self.paginate(statement, params)
        next_link, previous_link = page_links(url, params, count)
        return Page[OutT](
            count=count,
            next=next_link,
            previous=previous_link,
            results=[render(row) for row in rows],
        )
