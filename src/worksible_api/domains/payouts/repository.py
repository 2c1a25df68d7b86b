from worksible_api.db.filters import Filters, equals
from worksible_api.db.repository import Repository
from worksible_api.models import Payout


class PayoutRepository(Repository[Payout]):
    model = Payout
    object_name = "payout"

    filters = Filters(status=equals(Payout.status), freelancer_id=equals(Payout.freelancer_id))
