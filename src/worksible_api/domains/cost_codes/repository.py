from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from worksible_api.db.filters import Filters, equals
from worksible_api.db.repository import Repository, violated_constraint
from worksible_api.errors import Conflict, ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.models import CostCode

# The unique constraint on (organization_id, code) in models/cost_code.py.
CODE_CONSTRAINT = "uq_cost_codes_organization_id_code"


def code_conflict(code: str) -> Conflict:
    return Conflict(f"The cost code {code} already exists in your organization.")


class CostCodeRepository(Repository[CostCode]):
    model = CostCode
    object_name = "cost code"

    filters = Filters(status=equals(CostCode.status), external_id=equals(CostCode.external_id))

    async def code_taken(self, code: str) -> bool:
        # Archived cost codes keep their code: it is never reused for another cost code.
        matches = self.scoped().where(CostCode.code == code)
        return bool((await self.session.execute(select(exists(matches)))).scalar_one())

    async def add_unique(self, cost_code: CostCode) -> CostCode:
        """Inserts `cost_code`. The check before it cannot see a concurrent request's
        uncommitted row; the unique constraint can: the later insert waits for the first to
        commit, then fails here."""
        self.session.add(cost_code)
        try:
            await self.session.flush()
        except IntegrityError as error:
            if violated_constraint(error) == CODE_CONSTRAINT:
                raise code_conflict(cost_code.code) from error
            raise
        return cost_code

    async def referenced_shared(self, raw_id: str, field: str) -> CostCode:
        """The cost code a body field names (422 if none), held FOR SHARE until commit:
        archiving takes FOR UPDATE, so it cannot slip in between our check and our write."""
        cost_code_id = parse_id(raw_id)
        found = None
        if cost_code_id is not None:
            statement = (
                self.scoped()
                .where(CostCode.id == cost_code_id)
                .with_for_update(read=True)
                .execution_options(populate_existing=True)
            )
            found = (await self.session.execute(statement)).scalar_one_or_none()
        if found is None:
            raise ValidationFailed.for_field(["body", field], f"No such cost code: {raw_id}")
        return found
