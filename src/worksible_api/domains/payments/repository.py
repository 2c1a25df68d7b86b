from worksible_api.db.filters import Filters, equals
from worksible_api.db.repository import Repository
from worksible_api.models import Payment


class PaymentRepository(Repository[Payment]):
    model = Payment
    object_name = "payment"

    filters = Filters(invoice_id=equals(Payment.invoice_id))
