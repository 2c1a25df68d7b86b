"""The demo organization that `make run` and `worksible-api demo` give a new user.

Everything is made through the domain services, as the API's routers call them, so the demo
obeys every rule a customer's data does: invoice numbers are gapless, payments never exceed
what is due, payouts never exceed a balance, time is booked only on active hourly contracts.
Dates are relative to today (UTC), so the data always looks current: this week's time is
still a draft, last week's is submitted, older weeks are approved and invoiced.

All of it runs in the caller's one transaction, which the caller commits. Rows made here are
invisible to others until then, so the actions on them (submit, finalize, mark-paid, …) need
none of the row locks their routers take on rows loaded from a request's path.
"""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.verifier import KeyVerifier
from worksible_api.demo_traffic import Integration, seed_request_history
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.contracts.schemas import ContractCreate, ContractType
from worksible_api.domains.contracts.service import ContractService
from worksible_api.domains.freelancers.schemas import FreelancerCreate, FreelancerOut
from worksible_api.domains.freelancers.service import FreelancerService
from worksible_api.domains.invoices.schemas import InvoiceCreate
from worksible_api.domains.invoices.service import InvoiceService
from worksible_api.domains.organizations import service as organizations
from worksible_api.domains.organizations.repository import DEMO_MARKER, find_demo_organization
from worksible_api.domains.payments.schemas import PaymentCreate, PaymentMethod
from worksible_api.domains.payments.service import PaymentService
from worksible_api.domains.payouts.schemas import PayoutCreate, PayoutFailure
from worksible_api.domains.payouts.service import PayoutService
from worksible_api.domains.projects.schemas import ProjectCreate, ProjectOut
from worksible_api.domains.projects.service import ProjectService
from worksible_api.domains.timesheets.schemas import TimesheetCreate
from worksible_api.domains.timesheets.service import TimesheetService
from worksible_api.domains.users.repository import find_by_email
from worksible_api.domains.users.schemas import Role, UserCreate
from worksible_api.domains.users.service import UserService, set_password
from worksible_api.kit.fields import acting_in
from worksible_api.kit.time import utc_now
from worksible_api.models import Contract, Invoice, Organization, Timesheet
from worksible_api.models.organization import Plan

# Two `worksible-api demo` at once (two `make run`s) must still make one demo organization:
# the second waits for this transaction-scoped lock, then finds the first one's. It polls
# rather than blocks: seeding can outlast the statement timeout a blocked wait would hit.
DEMO_LOCK_KEY = 0x5753_4B44_454D_4F  # "WSKDEMO"
DEMO_LOCK_WAIT_SECONDS = 30.0
DEMO_LOCK_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Person:
    key: str
    first_name: str
    last_name: str
    country: str
    currency: str
    role: str

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@example.com".lower().replace("'", "")


PEOPLE = (
    Person("lena", "Lena", "Fischer", "DE", "EUR", "Backend engineer"),
    Person("tomas", "Tomas", "Garcia", "ES", "EUR", "Product designer"),
    Person("priya", "Priya", "Raman", "IN", "USD", "Computer-vision engineer"),
    Person("james", "James", "O'Connor", "GB", "GBP", "Frontend engineer"),
    Person("sofia", "Sofia", "Rossi", "IT", "EUR", "Technical writer"),
    Person("kenji", "Kenji", "Watanabe", "JP", "JPY", "Embedded firmware engineer"),
    Person("ana", "Ana", "Souza", "BR", "USD", "QA lead"),
    # Archived once their contract ended and they were paid out.
    Person("marek", "Marek", "Nowak", "PL", "PLN", "Motion-control engineer"),
)

WEEKDAYS = 5
LENA_DAY_START = time(8, 0)


def _weekdays(monday: date, *, until: date | None = None) -> list[date]:
    days = [monday + timedelta(days=offset) for offset in range(WEEKDAYS)]
    return [day for day in days if until is None or day <= until]


class DemoSeeder:
    """Builds the demo organization's data, one service call at a time."""

    def __init__(self, session: AsyncSession, organization_id: UUID, today: date) -> None:
        self.session = session
        self.today = today
        # Monday of this week: weeks are counted back from it.
        self.monday = today - timedelta(days=today.weekday())
        self.freelancers = FreelancerService(session, organization_id)
        self.projects = ProjectService(session, organization_id)
        self.contracts = ContractService(session, organization_id)
        self.timesheets = TimesheetService(session, organization_id)
        self.invoices = InvoiceService(session, organization_id)
        self.payments = PaymentService(session, organization_id)
        self.payouts = PayoutService(session, organization_id)
        self.people: dict[str, FreelancerOut] = {}

    def week(self, weeks_ago: int) -> date:
        """The Monday `weeks_ago` weeks before this one."""
        return self.monday - timedelta(weeks=weeks_ago)

    async def seed(self) -> None:
        for person in PEOPLE:
            self.people[person.key] = await self.freelancers.create(
                FreelancerCreate(
                    email=person.email,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    country=person.country,
                    default_currency=person.currency,
                    metadata={"role": person.role},
                )
            )
        fleet = await self._project(
            "Warehouse robot fleet",
            "Navigation, fleet management and telemetry for 40 autonomous warehouse robots.",
            "EUR",
        )
        portal = await self._project(
            "Customer portal redesign",
            "A new self-service portal where customers track their robots and tickets.",
            "EUR",
        )
        vision = await self._project(
            "Vision R&D",
            "Pick-point detection for mixed-SKU bins; research track with a US partner.",
            "USD",
        )
        await self._marek(fleet)
        await self._tomas(portal)
        await self._lena(fleet)
        await self._priya(vision)
        await self._james(portal)
        await self._sofia(portal)
        await self._ana(vision)
        await self._kenji(fleet)

    # Building blocks.

    async def _project(self, name: str, description: str, currency: str) -> ProjectOut:
        return await self.projects.create(
            ProjectCreate(name=name, description=description, currency=currency)
        )

    async def _contract(
        self,
        person: str,
        project: ProjectOut,
        *,
        start_date: date,
        end_date: date | None = None,
        rate: int | None = None,
        amount: int | None = None,
        activate: bool = True,
        title: str,
    ) -> Contract:
        contract = await self.contracts.create(
            ContractCreate(
                freelancer_id=str(self.people[person].id),
                project_id=str(project.id),
                type=ContractType.HOURLY if rate is not None else ContractType.FIXED,
                rate=rate,
                amount=amount,
                start_date=start_date,
                end_date=end_date,
                metadata={"title": title},
            )
        )
        if activate:
            contract = await self.contracts.activate(contract)
        return contract

    async def _book(
        self,
        contract: Contract,
        days: list[date],
        minutes: int,
        description: str,
        *,
        status: str,
        timed: bool = False,
    ) -> list[Timesheet]:
        """One entry a day, taken to `status` (draft, submitted or approved)."""
        entries: list[Timesheet] = []
        for day in days:
            started_at = datetime.combine(day, LENA_DAY_START, tzinfo=UTC) if timed else None
            entry = await self.timesheets.create(
                TimesheetCreate(
                    contract_id=str(contract.id),
                    work_date=day,
                    minutes=minutes,
                    started_at=started_at,
                    ended_at=started_at + timedelta(minutes=minutes) if started_at else None,
                    description=description,
                )
            )
            if status in ("submitted", "approved"):
                entry = await self.timesheets.submit(entry)
            if status == "approved":
                entry = await self.timesheets.approve(entry)
            entries.append(entry)
        return entries

    async def _reject(
        self, contract: Contract, day: date, minutes: int, description: str, reason: str
    ) -> Timesheet:
        [entry] = await self._book(contract, [day], minutes, description, status="submitted")
        return await self.timesheets.reject(entry, reason)

    async def _invoice(
        self,
        contract: Contract,
        period: tuple[date, date] | None = None,
        *,
        finalize: bool = True,
        metadata: dict[str, str] | None = None,
    ) -> Invoice:
        invoice, _lines = await self.invoices.create(
            InvoiceCreate(
                contract_id=str(contract.id),
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                metadata=metadata or {},
            )
        )
        if finalize:
            invoice, _lines = await self.invoices.finalize(invoice)
        return invoice

    async def _pay(self, invoice: Invoice, amount: int, method: PaymentMethod) -> None:
        await self.payments.create(
            PaymentCreate(
                invoice_id=str(invoice.id),
                amount=amount,
                currency=invoice.currency,
                method=method,
            )
        )

    async def _payout(
        self, person: str, amount: int, currency: str, *, then: str | None = None
    ) -> None:
        """A payout, left pending or then `paid`, `failed` or `canceled`."""
        payout = await self.payouts.create(
            PayoutCreate(
                freelancer_id=str(self.people[person].id), amount=amount, currency=currency
            )
        )
        if then == "paid":
            await self.payouts.mark_paid(payout)
        elif then == "failed":
            reason = "The receiving bank rejected the IBAN (account closed)."
            await self.payouts.mark_failed(payout, PayoutFailure(reason=reason))
        elif then == "canceled":
            await self.payouts.cancel(payout)

    # The people, each with their own story.

    async def _marek(self, fleet: ProjectOut) -> None:
        """Ended hourly contract, invoiced and paid in two instalments, paid out, archived."""
        last_day = self.week(8) + timedelta(days=4)
        contract = await self._contract(
            "marek",
            fleet,
            start_date=self.week(12),
            end_date=last_day,
            rate=18000,
            title="Motor controller tuning",
        )
        for weeks_ago, task in ((10, "Servo loop tuning"), (9, "Drive-train load tests")):
            await self._book(
                contract, _weekdays(self.week(weeks_ago)), 480, task, status="approved"
            )
        await self._book(
            contract, _weekdays(self.week(8)), 420, "Hand-over and documentation", status="approved"
        )
        invoice = await self._invoice(contract, (self.week(10), last_day))
        half = invoice.total // 2
        await self._pay(invoice, half, PaymentMethod.BANK_TRANSFER)
        await self._pay(invoice, invoice.total - half, PaymentMethod.BANK_TRANSFER)
        await self._payout("marek", invoice.total, invoice.currency, then="paid")
        await self.contracts.end(contract)
        marek = await self.freelancers.freelancers.get(self.people["marek"].id, for_update=True)
        await self.freelancers.archive(marek)

    async def _tomas(self, portal: ProjectOut) -> None:
        """Ended fixed-fee contract, paid; most of it paid out, the rest still available."""
        contract = await self._contract(
            "tomas",
            portal,
            start_date=self.week(9),
            end_date=self.week(2) - timedelta(days=3),
            amount=480000,
            title="Portal design system and UI kit",
        )
        invoice = await self._invoice(contract)
        await self._pay(invoice, invoice.total, PaymentMethod.SEPA_DEBIT)
        await self._payout("tomas", 400000, "EUR", then="paid")
        await self.contracts.end(contract)

    async def _lena(self, fleet: ProjectOut) -> None:
        """Active hourly contract with timed entries in every status; one invoice paid, one
        partly paid; a payout that failed, its retry paid, and one pending."""
        contract = await self._contract(
            "lena",
            fleet,
            start_date=self.week(6),
            rate=9500,
            title="Fleet manager backend",
        )
        weeks = {
            4: "Route planner: A* over the warehouse graph",
            3: "Telemetry ingest and retention",
            2: "Charging-dock scheduling",
        }
        for weeks_ago, task in weeks.items():
            days = _weekdays(self.week(weeks_ago))
            if weeks_ago == 2:
                days = days[:2] + days[3:]
            await self._book(contract, days, 480, task, status="approved", timed=True)
        await self._reject(
            contract,
            self.week(2) + timedelta(days=2),
            480,
            "Customer portal login bug",
            "Booked on the wrong contract: portal work goes on the Customer portal project.",
        )
        await self._book(
            contract,
            _weekdays(self.week(1)),
            450,
            "Fleet dashboard API",
            status="submitted",
            timed=True,
        )
        await self._book(
            contract,
            _weekdays(self.monday, until=self.today),
            240,
            "Load tests for the fleet dashboard API",
            status="draft",
            timed=True,
        )
        paid = await self._invoice(contract, (self.week(4), self.week(4) + timedelta(days=6)))
        await self._pay(paid, paid.total, PaymentMethod.BANK_TRANSFER)
        partly = await self._invoice(contract, (self.week(3), self.week(3) + timedelta(days=6)))
        await self._pay(partly, partly.total * 2 // 5, PaymentMethod.SEPA_DEBIT)
        # Week 2's approved time is left uninvoiced, ready for a new invoice.
        await self._payout("lena", paid.total, "EUR", then="failed")
        await self._payout("lena", paid.total, "EUR", then="paid")
        await self._payout("lena", partly.total // 5, "EUR")

    async def _priya(self, vision: ProjectOut) -> None:
        """Active hourly USD contract; an invoice voided and reissued, then paid; a payout
        canceled and redone."""
        contract = await self._contract(
            "priya",
            vision,
            start_date=self.week(5),
            rate=6500,
            title="Pick-point detection model",
        )
        for weeks_ago, task in ((3, "Dataset labelling tools"), (2, "Model training runs")):
            await self._book(
                contract, _weekdays(self.week(weeks_ago)), 420, task, status="approved"
            )
        last_week = _weekdays(self.week(1))
        await self._book(
            contract, last_week[:-1], 420, "Evaluation on bin images", status="submitted"
        )
        # Friday's entry was never submitted.
        await self._book(contract, last_week[-1:], 420, "Evaluation report", status="draft")
        await self._book(
            contract,
            _weekdays(self.monday, until=self.today),
            360,
            "Model export to the robot runtime",
            status="draft",
        )
        period = (self.week(3), self.week(2) + timedelta(days=6))
        voided = await self._invoice(contract, period, metadata={"note": "Wrong billing entity"})
        await self.invoices.void(voided)
        reissued = await self._invoice(contract, period, metadata={"replaces": str(voided.number)})
        await self._pay(reissued, reissued.total, PaymentMethod.OTHER)
        await self._payout("priya", reissued.total, "USD", then="canceled")
        await self._payout("priya", reissued.total - 50000, "USD", then="paid")

    async def _james(self, portal: ProjectOut) -> None:
        """Active hourly GBP contract; a draft invoice; a rejected entry."""
        contract = await self._contract(
            "james",
            portal,
            start_date=self.week(3),
            rate=8500,
            title="Portal front end",
        )
        for weeks_ago, task in ((3, "Order tracking pages"), (2, "Ticket inbox")):
            await self._book(
                contract, _weekdays(self.week(weeks_ago)), 360, task, status="approved"
            )
        await self._reject(
            contract,
            self.week(1),
            600,
            "Accessibility fixes",
            "10 hours on one day is above the agreed 6: please split it or add a note.",
        )
        await self._book(
            contract, _weekdays(self.week(1))[1:], 360, "Accessibility fixes", status="submitted"
        )
        await self._book(
            contract,
            _weekdays(self.monday, until=self.today),
            300,
            "Portal release candidate",
            status="draft",
        )
        await self._invoice(
            contract, (self.week(3), self.week(2) + timedelta(days=6)), finalize=False
        )

    async def _sofia(self, portal: ProjectOut) -> None:
        """Active fixed-fee contract with an open, unpaid invoice."""
        contract = await self._contract(
            "sofia",
            portal,
            start_date=self.week(4),
            end_date=self.monday + timedelta(weeks=4),
            amount=250000,
            title="Portal help centre content",
        )
        await self._invoice(contract)

    async def _ana(self, vision: ProjectOut) -> None:
        """Active fixed-fee USD contract with a draft invoice."""
        contract = await self._contract(
            "ana",
            vision,
            start_date=self.week(2),
            amount=300000,
            title="Test plan for the vision pipeline",
        )
        await self._invoice(contract, finalize=False)

    async def _kenji(self, fleet: ProjectOut) -> None:
        """A draft contract starting next week, in JPY (no minor unit)."""
        await self._contract(
            "kenji",
            fleet,
            start_date=self.monday + timedelta(weeks=1),
            rate=9000,
            activate=False,
            title="Robot firmware update pipeline",
        )


async def _lock_demo(session: AsyncSession) -> None:
    """Holds the demo lock until the transaction ends; waits while another seed holds it."""
    deadline = monotonic() + DEMO_LOCK_WAIT_SECONDS
    attempt = select(func.pg_try_advisory_xact_lock(DEMO_LOCK_KEY))
    while not (await session.execute(attempt)).scalar_one():
        if monotonic() > deadline:
            raise RuntimeError("Another demo seed has been running for too long; try again.")
        await asyncio.sleep(DEMO_LOCK_POLL_SECONDS)


async def seed_demo(session: AsyncSession, verifier: KeyVerifier) -> tuple[Organization, bool]:
    """The demo organization, created with its sample data the first time; True if created now."""
    await _lock_demo(session)
    existing = await find_demo_organization(session)
    if existing is not None:
        return existing, False
    organization = await organizations.create_organization(
        session,
        name="Acme Robotics (demo)",
        plan=Plan.ENTERPRISE,
        country="DE",
        default_currency="EUR",
        billing_email="finance@acme-robotics.example",
    )
    organization.metadata_ = dict(DEMO_MARKER)
    await session.flush()
    # The sample data is live data: the events the services emit render it so.
    acting_in(livemode=organization.livemode)
    await DemoSeeder(session, organization.id, utc_now().date()).seed()
    await _seed_integrations(session, organization.id, verifier)
    return organization, True


# The demo's integrations: keys with a few days of traffic behind them (demo_traffic.py).
INTEGRATIONS = (
    (
        "Payroll sync",
        ["timesheets:write", "invoices:write", "freelancers:read"],
        "python-httpx/0.28",
        "198.51.100.24",
        6.0,
    ),
    (
        "BI export",
        ["company:read", "invoices:read", "projects:read"],
        "PowerBI/2.131",
        "203.0.113.80",
        2.0,
    ),
)


async def _seed_integrations(
    session: AsyncSession, organization_id: UUID, verifier: KeyVerifier
) -> None:
    keys = ApiKeyService(session, organization_id, verifier, actor=OPERATOR)
    integrations = []
    for name, scopes, user_agent, ip, per_minute in INTEGRATIONS:
        api_key, _ = await keys.create(ApiKeyCreate(name=name, scopes=scopes))
        integrations.append(Integration(api_key.id, user_agent, ip, per_minute))
    await seed_request_history(session, organization_id, integrations, utc_now())


DEMO_OWNER_EMAIL = "owner@acme-robotics.example"


async def demo_owner(session: AsyncSession, organization: Organization) -> tuple[str, str]:
    """The demo owner's sign-in, with a new password each time: it is printed, never kept."""
    password = secrets.token_urlsafe(12)
    user = await find_by_email(session, DEMO_OWNER_EMAIL)
    if user is None:
        data = UserCreate(email=DEMO_OWNER_EMAIL, name="Demo Owner", role=Role.OWNER)
        user, _ = await UserService(session, organization.id).create(data)
    await set_password(session, user, password)
    return DEMO_OWNER_EMAIL, password
