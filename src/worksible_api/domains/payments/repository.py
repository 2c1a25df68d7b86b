from uuid import UUID

from sqlalchemy import Select

from worksible_api.db.repository import Repository
from worksible_api.models import Payment


class PaymentRepository(Repository[Payment]):
    model = Payment
    object_name = "payment"

    def filtered(self, *, invoice_id: UUID | None = None) -> Select[Payment]:
        statement = self.scoped()
        if invoice_id is not None:
            statement = statement.where(Payment.invoice_id == invoice_id)
        return statement
