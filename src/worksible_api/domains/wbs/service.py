"""WBS rules (API.md §13): one tree per project, at most 10 levels, no cycles, unique codes,
an active cost code, a plan for every budget, no deleting what is in use.

Every write locks the project row first (ProjectTreeRepository.lock_tree, or .share for
progress), then re-reads the element: checks see the tree as the previous write left it.
Writes to an archived project's WBS are refused (409 `invalid_state`): archiving closes it.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import Slice
from worksible_api.domains.cost_codes.repository import CostCodeRepository
from worksible_api.domains.wbs.repository import (
    ProjectTreeRepository,
    WbsElementRepository,
    WbsProgressRepository,
    code_conflict,
)
from worksible_api.domains.wbs.schemas import (
    MAX_DEPTH,
    ProgressCreate,
    WbsElementCreate,
    WbsElementUpdate,
    plan_error,
)
from worksible_api.errors import (
    InvalidState,
    NotFound,
    ValidationFailed,
    WbsCycle,
    WbsInUse,
    WbsTooDeep,
)
from worksible_api.kit.evm import natural_key
from worksible_api.kit.pagination import ListParams
from worksible_api.models import Project, WbsElement, WbsProgress

NOT_NULLABLE = ("code", "name", "budget", "metadata")
NO_PROGRESS = Decimal(0)


@dataclass
class TreeNode:
    element: WbsElement
    percent_complete: Decimal
    children: list["TreeNode"] = field(default_factory=list)


def _check_writable(project: Project) -> None:
    if project.status != "active":
        raise InvalidState(
            f"Project {project.id} is {project.status}: its WBS cannot change.",
            current_status=project.status,
        )


def _too_deep(depth: int) -> WbsTooDeep:
    return WbsTooDeep(
        f"This would put an element at level {depth}; a WBS has at most {MAX_DEPTH} levels."
    )


class WbsService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.projects = ProjectTreeRepository(session, organization_id)
        self.elements = WbsElementRepository(session, organization_id)
        self.progress = WbsProgressRepository(session, organization_id)
        self.cost_codes = CostCodeRepository(session, organization_id)

    async def _reload(
        self, element: WbsElement, project: Project, *, for_update: bool = False
    ) -> WbsElement:
        """The element as committed now that the project is locked; gone meanwhile is 404."""
        found = await self.elements.find_in_project(element.id, project.id, for_update=for_update)
        if found is None:
            raise NotFound(f"No such WBS element in this project: {element.id}")
        return found

    async def _active_cost_code(self, raw_id: str | None) -> UUID | None:
        if raw_id is None:
            return None
        cost_code = await self.cost_codes.referenced_shared(raw_id, "cost_code_id")
        if cost_code.status != "active":
            raise ValidationFailed.for_field(
                ["body", "cost_code_id"], f"Cost code {cost_code.code} is archived."
            )
        return cost_code.id

    async def create(self, project: Project, data: WbsElementCreate) -> WbsElement:
        project = await self.projects.lock_tree(project.id)
        parent = None
        if data.parent_id is not None:
            parent = await self.elements.referenced_in_project(
                data.parent_id, project.id, "parent_id"
            )
        cost_code_id = await self._active_cost_code(data.cost_code_id)
        _check_writable(project)
        depth = 1 if parent is None else parent.depth + 1
        if depth > MAX_DEPTH:
            raise _too_deep(depth)
        if await self.elements.code_taken(project.id, data.code):
            raise code_conflict(data.code)
        element = WbsElement(
            organization_id=self.organization_id,
            project_id=project.id,
            parent_id=parent.id if parent else None,
            code=data.code,
            name=data.name,
            cost_code_id=cost_code_id,
            budget=data.budget,
            planned_start=data.planned_start,
            planned_end=data.planned_end,
            depth=depth,
            external_id=data.external_id,
            metadata_=data.metadata,
        )
        self.session.add(element)
        await self.elements.flush_code(element.code)
        return element

    async def update(
        self, project: Project, element: WbsElement, data: WbsElementUpdate
    ) -> WbsElement:
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for name in NOT_NULLABLE:
            if name in changes and changes[name] is None:
                raise ValidationFailed.for_field(["body", name], f"{name} cannot be null.")
        project = await self.projects.lock_tree(project.id)
        element = await self._reload(element, project)
        self._check_plan(element, changes)
        moving = "parent_id" in changes
        parent = None
        if changes.get("parent_id") is not None:
            parent = await self.elements.referenced_in_project(
                changes["parent_id"], project.id, "parent_id"
            )
        if "cost_code_id" in changes:
            changes["cost_code_id"] = await self._active_cost_code(changes["cost_code_id"])
        _check_writable(project)
        if moving:
            await self._move(element, parent)
        code = changes.get("code")
        if code is not None and await self.elements.code_taken(
            project.id, code, other_than=element.id
        ):
            raise code_conflict(code)
        for name, value in changes.items():
            if name != "parent_id":
                setattr(element, "metadata_" if name == "metadata" else name, value)
        await self.elements.flush_code(element.code)
        return element

    @staticmethod
    def _check_plan(element: WbsElement, changes: dict[str, Any]) -> None:
        """The plan rules on the element as it would be after the change (API.md §13)."""
        error = plan_error(
            changes.get("budget", element.budget),
            changes.get("planned_start", element.planned_start),
            changes.get("planned_end", element.planned_end),
        )
        if error is not None:
            raise ValidationFailed.for_field(["body", error[0]], error[1])

    async def _move(self, element: WbsElement, parent: WbsElement | None) -> None:
        """Puts `element` under `parent` (None: at the top), re-levelling its subtree.

        Runs under the project's tree lock: two moves that would each be fine alone but
        together make a cycle are serialized, and the second sees the first's result.
        """
        parent_id = parent.id if parent is not None else None
        if parent_id == element.parent_id:
            return
        new_depth = 1 if parent is None else parent.depth + 1
        shift = new_depth - element.depth
        if parent is not None:
            shape = await self.elements.subtree_shape(element, parent.id)
            if shape.holds:
                raise WbsCycle(
                    f"Element {parent.code} is {element.code} itself or below it: "
                    "an element cannot move under itself or its descendants."
                )
            if shape.max_depth + shift > MAX_DEPTH:
                raise _too_deep(shape.max_depth + shift)
        if shift:
            await self.elements.shift_descendants(element, shift)
        element.parent_id = parent_id
        element.depth = new_depth

    async def delete(self, project: Project, element: WbsElement) -> tuple[WbsElement, Decimal]:
        """The deleted element and its last percent complete."""
        project = await self.projects.lock_tree(project.id)
        # FOR UPDATE waits out any transaction booking time to the element (its foreign key
        # check holds the row FOR KEY SHARE), so the check below sees that booking.
        element = await self._reload(element, project, for_update=True)
        _check_writable(project)
        if await self.elements.has_children(element):
            raise WbsInUse(f"Element {element.code} has child elements: delete or move them first.")
        booked = await self.elements.booked_on(element)
        if booked is not None:
            raise WbsInUse(f"Element {element.code} has {booked} booked to it.")
        percent = await self.percent_of(element)
        if not await self.elements.delete(element):
            raise WbsInUse(f"Element {element.code} is referenced and cannot be deleted.")
        return element, percent

    async def record_progress(
        self, project: Project, element: WbsElement, data: ProgressCreate
    ) -> tuple[WbsProgress, bool]:
        """Creates or replaces the element's progress on `as_of`; True when created."""
        project = await self.projects.share(project.id)
        element = await self._reload(element, project)
        _check_writable(project)
        return await self.progress.upsert(element, data.as_of, data.percent_complete)

    async def percent_of(self, element: WbsElement) -> Decimal:
        percents = await self.elements.latest_percents(element.project_id, [element.id])
        return percents.get(element.id, NO_PROGRESS)

    async def page(
        self, project: Project, parent_id: str | None, external_id: str | None, params: ListParams
    ) -> tuple[Slice[WbsElement], list[tuple[WbsElement, Decimal]]]:
        statement = self.elements.filtered(project.id, parent_id)
        statement = self.elements.with_external_id(statement, external_id)
        found = await self.elements.paginate(statement, params)
        percents = await self.elements.latest_percents(project.id, [row.id for row in found.rows])
        return found, [(row, percents.get(row.id, NO_PROGRESS)) for row in found.rows]

    async def tree(self, project: Project) -> list[TreeNode]:
        """The project's top elements with their subtrees; siblings in natural code order.

        Two queries (elements, latest progress), assembled here.
        """
        elements = await self.elements.all_in_project(project.id)
        percents = await self.elements.latest_percents(project.id)
        nodes = {
            element.id: TreeNode(element, percents.get(element.id, NO_PROGRESS))
            for element in sorted(elements, key=lambda element: natural_key(element.code))
        }
        top: list[TreeNode] = []
        for node in nodes.values():
            parent = nodes.get(node.element.parent_id) if node.element.parent_id else None
            (parent.children if parent is not None else top).append(node)
        return top
