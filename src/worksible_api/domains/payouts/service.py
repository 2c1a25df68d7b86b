"""Payout rules (API.md §9): never more than the available balance; pending -> paid/failed/canceled."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.balances.repository import BalanceRepository
from worksible_api.domains.balances.service import available_in
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.payouts.repository import PayoutRepository
from worksible_api.domains.payouts.schemas import (
    PayoutCreate,
    PayoutFailure,
    PayoutOut,
    PayoutUpdate,
)
from worksible_api.errors import InsufficientBalance, ValidationFailed
from worksible_api.kit.money import minor_unit_exponent
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import Payout

PAYOUT_STATES = StateMachine(
    "payout",
    {
        "mark as paid": transition("pending", to="paid"),
        "mark as failed": transition("pending", to="failed"),
        "cancel": transition("pending", to="canceled"),
    },
)


def format_money(amount: int, currency: str) -> str:
    """`12345, "EUR"` -> `"123.45 EUR"`, for messages; amounts here are never negative."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return f"{amount} {currency}"
    units, fraction = divmod(amount, 10**exponent)
    return f"{units}.{fraction:0{exponent}d} {currency}"


class PayoutService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.payouts = PayoutRepository(session, organization_id)
        self.balances = BalanceRepository(session, organization_id)

    async def create(self, data: PayoutCreate) -> Payout:
        # Archived freelancers are still paid what they are owed, so the status is not checked.
        # The row lock makes the balance read below and the insert one step per freelancer.
        freelancer = await self.balances.lock_payee(data.freelancer_id, "freelancer_id")
        available = available_in(await self.balances.balances(freelancer.id), data.currency)
        if data.amount > available:
            raise InsufficientBalance(
                f"The freelancer's available balance is {format_money(available, data.currency)}"
                f" ({available} minor units); this payout asks for"
                f" {format_money(data.amount, data.currency)}.",
                available=available,
                currency=data.currency,
            )
        payout = Payout(
            organization_id=self.organization_id,
            freelancer_id=freelancer.id,
            amount=data.amount,
            currency=data.currency,
            status="pending",
            metadata_=data.metadata,
        )
        await self.payouts.add(payout)
        return self._emitted(EventType.PAYOUT_CREATED, payout)

    async def update(self, payout: Payout, data: PayoutUpdate) -> Payout:
        changes = data.model_dump(exclude_unset=True)
        if "metadata" in changes and changes["metadata"] is None:
            raise ValidationFailed.for_field(["body", "metadata"], "metadata cannot be null.")
        if data.metadata is not None:
            payout.metadata_ = data.metadata
            await self.session.flush()
        return payout

    async def mark_paid(self, payout: Payout) -> Payout:
        PAYOUT_STATES.apply(payout, "mark as paid")
        payout.paid_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.PAYOUT_PAID, payout)

    async def mark_failed(self, payout: Payout, data: PayoutFailure | None) -> Payout:
        PAYOUT_STATES.apply(payout, "mark as failed")
        payout.failed_at = utc_now()
        payout.failure_reason = data.reason if data else None
        await self.session.flush()
        return self._emitted(EventType.PAYOUT_FAILED, payout)

    async def cancel(self, payout: Payout) -> Payout:
        PAYOUT_STATES.apply(payout, "cancel")
        payout.canceled_at = utc_now()
        await self.session.flush()
        return self._emitted(EventType.PAYOUT_CANCELED, payout)

    def _emitted(self, type_: EventType, payout: Payout) -> Payout:
        """Records the change as an event, with the payout as the API now answers it."""
        emit(self.session, self.organization_id, type_, PayoutOut.model_validate(payout))
        return payout
