"""A project's work breakdown structure: elements, their progress, and the project row that
serializes changes to the tree.

Lock order: project, then cost code, then element. Every WBS write takes its locks in that
order, so two writes never wait on each other in a cycle.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import CTE, Select, exists, false, func, literal_column, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from worksible_api.db.repository import (
    ListColumns,
    Repository,
    Slice,
    paginate_by,
    row_cursor,
    violated_constraint,
)
from worksible_api.errors import Conflict, ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.kit.pagination import ListParams
from worksible_api.models import ClockEvent, Project, Timesheet, WbsElement, WbsProgress

# The unique constraint on (project_id, code) in models/wbs_element.py.
CODE_CONSTRAINT = "uq_wbs_elements_project_id_code"


def code_conflict(code: str) -> Conflict:
    return Conflict(f"The project already has an element with the code {code}.")


class ProjectTreeRepository(Repository[Project]):
    """The project rows that WBS writes lock."""

    model = Project
    object_name = "project"

    async def _locked(self, project_id: UUID, *, read: bool) -> Project:
        statement = (
            self.scoped()
            .where(Project.id == project_id)
            .with_for_update(read=read, key_share=not read)
            .execution_options(populate_existing=True)
        )
        project: Project = (await self.session.execute(statement)).scalar_one()
        return project

    async def lock_tree(self, project_id: UUID) -> Project:
        """FOR NO KEY UPDATE on the project row, held until commit: every write to the
        project's tree takes it, so cycle, depth, code and in-use checks each see the tree as
        the previous write left it (two moves that would together make a cycle are serialized,
        and the second is refused). It also excludes a concurrent archive (FOR UPDATE), so no
        write lands in a project archived meanwhile, while foreign-key checks of rows that
        reference the project (FOR KEY SHARE) go on; contract creation (FOR SHARE) waits."""
        return await self._locked(project_id, read=False)

    async def share(self, project_id: UUID) -> Project:
        """FOR SHARE: progress writes exclude tree writes and archiving, not each other."""
        return await self._locked(project_id, read=True)


@dataclass(frozen=True)
class SubtreeShape:
    """An element's subtree: its deepest level, and whether it holds a given element."""

    max_depth: int
    holds: bool


class WbsElementRepository(Repository[WbsElement]):
    model = WbsElement
    object_name = "WBS element"

    def in_project(self, project_id: UUID) -> Select[WbsElement]:
        return self.scoped().where(WbsElement.project_id == project_id)

    def filtered(self, project_id: UUID, parent_id: str | None) -> Select[WbsElement]:
        """`parent_id`: absent for every element, `null` for the top ones, else an element's
        children; an id that is not one of ours matches nothing."""
        statement = self.in_project(project_id)
        if parent_id == "null":
            return statement.where(WbsElement.parent_id.is_(None))
        if parent_id is not None:
            parsed = parse_id(parent_id)
            statement = statement.where(
                WbsElement.parent_id == parsed if parsed is not None else false()
            )
        return statement

    async def find_in_project(
        self, raw_id: str | UUID, project_id: UUID, *, for_update: bool = False
    ) -> WbsElement | None:
        element_id = parse_id(raw_id)
        if element_id is None:
            return None
        statement = self.in_project(project_id).where(WbsElement.id == element_id)
        # populate_existing: an element already in the session is refreshed from the row.
        statement = statement.execution_options(populate_existing=True)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def referenced_in_project(self, raw_id: str, project_id: UUID, field: str) -> WbsElement:
        """An element a body field names: unknown, or of another project or organization, 422."""
        found = await self.find_in_project(raw_id, project_id)
        if found is None:
            raise ValidationFailed.for_field(
                ["body", field], f"No such WBS element in this project: {raw_id}"
            )
        return found

    async def code_taken(
        self, project_id: UUID, code: str, *, other_than: UUID | None = None
    ) -> bool:
        matches = self.in_project(project_id).where(WbsElement.code == code)
        if other_than is not None:
            matches = matches.where(WbsElement.id != other_than)
        return bool((await self.session.execute(select(exists(matches)))).scalar_one())

    async def flush_code(self, code: str) -> None:
        """Flushes an element whose code is `code`; the unique constraint backs the check."""
        try:
            await self.session.flush()
        except IntegrityError as error:
            if violated_constraint(error) == CODE_CONSTRAINT:
                raise code_conflict(code) from error
            raise

    def _subtree(self, element: WbsElement) -> CTE:
        """`element` and its descendants (id, depth). UNION rather than UNION ALL, so even a
        cycle that should never exist could not make the query run forever."""
        tree = (
            select(WbsElement.id, WbsElement.depth)
            .where(WbsElement.id == element.id)
            .cte("subtree", recursive=True)
        )
        child = aliased(WbsElement)
        return tree.union(
            select(child.id, child.depth)
            .join(tree, child.parent_id == tree.c.id)
            # The (project_id, parent_id) index finds each level's children.
            .where(child.project_id == element.project_id)
        )

    async def subtree_shape(self, element: WbsElement, candidate: UUID) -> SubtreeShape:
        tree = self._subtree(element)
        statement = select(
            func.max(tree.c.depth), func.coalesce(func.bool_or(tree.c.id == candidate), False)
        )
        max_depth, holds = (await self.session.execute(statement)).one()
        return SubtreeShape(int(max_depth), bool(holds))

    async def shift_descendants(self, element: WbsElement, shift: int) -> None:
        """Moves every level below `element` by `shift`, in one statement."""
        tree = self._subtree(element)
        statement = (
            update(WbsElement)
            .where(WbsElement.id.in_(select(tree.c.id)), WbsElement.id != element.id)
            .values(depth=WbsElement.depth + shift, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def has_children(self, element: WbsElement) -> bool:
        children = select(WbsElement.id).where(
            WbsElement.project_id == element.project_id, WbsElement.parent_id == element.id
        )
        return bool((await self.session.execute(select(exists(children)))).scalar_one())

    async def booked_on(self, element: WbsElement) -> str | None:
        """What references the element besides its children: "timesheets" (any status) or
        "clock events", or None."""
        for name, model in (("timesheets", Timesheet), ("clock events", ClockEvent)):
            column: Any = model.wbs_element_id
            references: Select[Any] = select(literal_column("1")).where(column == element.id)
            if (await self.session.execute(select(exists(references)))).scalar_one():
                return name
        return None

    async def delete(self, element: WbsElement) -> bool:
        """Deletes the element (its progress goes with it); False if a reference appeared."""
        try:
            async with self.session.begin_nested():
                await self.session.delete(element)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def latest_percents(
        self, project_id: UUID, element_ids: Iterable[UUID] | None = None
    ) -> dict[UUID, Decimal]:
        """The percent complete with the latest `as_of` of each element that has any: one
        LATERAL probe of the (wbs_element_id, as_of) index per element."""
        latest = (
            select(WbsProgress.percent_complete)
            .where(WbsProgress.wbs_element_id == WbsElement.id)
            .order_by(WbsProgress.as_of.desc())
            .limit(1)
            .lateral("latest")
        )
        statement = (
            select(WbsElement.id, latest.c.percent_complete)
            .join(latest, true())
            .where(
                WbsElement.organization_id == self.organization_id,
                WbsElement.project_id == project_id,
            )
        )
        if element_ids is not None:
            statement = statement.where(WbsElement.id.in_(list(element_ids)))
        rows = await self.session.execute(statement)
        return {element_id: percent for element_id, percent in rows}

    async def all_in_project(self, project_id: UUID) -> Sequence[WbsElement]:
        return (await self.session.execute(self.in_project(project_id))).scalars().all()


class WbsProgressRepository(Repository[WbsProgress]):
    model = WbsProgress
    object_name = "progress"

    async def upsert(
        self, element: WbsElement, as_of: date, percent: Decimal
    ) -> tuple[WbsProgress, bool]:
        """The element's progress on `as_of`, created or replaced; True when created.

        ON CONFLICT makes racing writes for one date agree: the later one waits for the first
        to commit, then replaces it. xmax is 0 only on a row this statement inserted.
        """
        values = {
            "organization_id": self.organization_id,
            "wbs_element_id": element.id,
            "as_of": as_of,
            "percent_complete": percent,
        }
        statement: Any = (
            insert(WbsProgress)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[WbsProgress.wbs_element_id, WbsProgress.as_of],
                set_={"percent_complete": percent, "updated_at": func.now()},
            )
            .returning(WbsProgress, literal_column("xmax = 0").label("inserted"))
            .execution_options(populate_existing=True)
        )
        progress, inserted = (await self.session.execute(statement)).one()
        return progress, bool(inserted)

    def of_element(self, element: WbsElement) -> Select[WbsProgress]:
        return self.scoped().where(WbsProgress.wbs_element_id == element.id)

    async def newest_first(
        self, statement: Select[WbsProgress], params: ListParams
    ) -> Slice[WbsProgress]:
        """One page by `as_of`, newest first (one row per date, so no ties), and the count."""
        columns = ListColumns(
            WbsProgress.created_at,
            WbsProgress.updated_at,
            WbsProgress.id,
            (WbsProgress.as_of, WbsProgress.id),
        )
        return await paginate_by(self.session, statement, params, columns, row_cursor)
