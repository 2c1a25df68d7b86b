from uuid import UUID

from sqlalchemy import Select

from worksible_api.db.repository import Repository
from worksible_api.models import Payout


class PayoutRepository(Repository[Payout]):
    model = Payout
    object_name = "payout"

    def filtered(self, *, status: str | None, freelancer_id: UUID | None) -> Select[Payout]:
        statement = self.scoped()
        if status is not None:
            statement = statement.where(Payout.status == status)
        if freelancer_id is not None:
            statement = statement.where(Payout.freelancer_id == freelancer_id)
        return statement
