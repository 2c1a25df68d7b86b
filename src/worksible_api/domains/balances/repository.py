"""A freelancer's balance per currency: payments in, minus payouts out (API.md §9)."""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import BigInteger, cast, func, literal, select, union_all

from worksible_api.db.repository import Repository
from worksible_api.errors import ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.models import Freelancer, Payment, Payout

# Pending payouts reserve their amount just as paid ones do; failed and canceled ones free it.
COUNTED_PAYOUT_STATUSES = ("pending", "paid")


@dataclass(frozen=True)
class CurrencyBalance:
    """Amounts in minor units of `currency`."""

    currency: str
    paid_in: int
    paid_out: int

    @property
    def available(self) -> int:
        return self.paid_in - self.paid_out


class BalanceRepository(Repository[Freelancer]):
    """The freelancer rows a balance belongs to, and the sums that make it up."""

    model = Freelancer
    object_name = "freelancer"

    async def balances(self, freelancer_id: UUID) -> list[CurrencyBalance]:
        """One entry per currency with any payment or payout, sorted by currency; one query."""
        paid_in = (
            select(
                Payment.currency.label("currency"),
                func.sum(Payment.amount).label("paid_in"),
                literal(0, BigInteger).label("paid_out"),
            )
            .where(Payment.organization_id == self.organization_id)
            .where(Payment.freelancer_id == freelancer_id)
            .group_by(Payment.currency)
        )
        paid_out = (
            select(
                Payout.currency,
                literal(0, BigInteger),
                func.coalesce(
                    func.sum(Payout.amount).filter(Payout.status.in_(COUNTED_PAYOUT_STATUSES)), 0
                ),
            )
            .where(Payout.organization_id == self.organization_id)
            .where(Payout.freelancer_id == freelancer_id)
            .group_by(Payout.currency)
        )
        sums = union_all(paid_in, paid_out).subquery()
        statement = (
            select(
                sums.c.currency,
                cast(func.sum(sums.c.paid_in), BigInteger),
                cast(func.sum(sums.c.paid_out), BigInteger),
            )
            .group_by(sums.c.currency)
            .order_by(sums.c.currency)
        )
        rows = (await self.session.execute(statement)).all()
        return [
            CurrencyBalance(currency, paid_in, paid_out) for currency, paid_in, paid_out in rows
        ]

    async def lock_payee(self, raw_id: str, field: str) -> Freelancer:
        """The freelancer a body field names (422 if none), locked until the transaction ends.

        The lock serializes payouts per freelancer, so each one computes the balance after the
        previous one committed: payouts never exceed the available balance. Payments, and payouts
        marked failed or canceled, only ever raise a balance, so they need not take it. FOR NO KEY UPDATE rather than FOR UPDATE:
        it conflicts with itself just the same, yet lets rows referencing the freelancer (its
        payments, invoices, contracts) be inserted meanwhile.
        """
        freelancer_id = parse_id(raw_id)
        found = None
        if freelancer_id is not None:
            statement = (
                self.scoped().where(Freelancer.id == freelancer_id).with_for_update(key_share=True)
            )
            found = (await self.session.execute(statement)).scalar_one_or_none()
        if found is None:
            raise ValidationFailed.for_field(["body", field], f"No such freelancer: {raw_id}")
        return found
