"""Deprecation and key-expiry notices (API.md §15): due, recorded once, mailed exactly once.

Mail goes to a real SMTP server (aiosmtpd) that the tests stop and start; the service's own
job runner delivers it, with short retry delays.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import uuid4

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from tests.conftest import client_for
from tests.factories.api_keys import bearer
from tests.factories.organizations import create_organization
from tests.fixtures.apps import app_with
from tests.fixtures.smtp import SmtpServer, smtp_server

from worksible_api.config import Settings
from worksible_api.db.session import commit
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.notices.service import NoticePlanner, plan_notices
from worksible_api.domains.organizations.repository import twin_of
from worksible_api.kit.time import utc_now
from worksible_api.models import Notice, Organization
from worksible_api.models.organization import Plan

# Instances here run jobs: they start on this test's own work (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("no_backlog")

DEPRECATED = "/v1/company"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def mailing_through(smtp: SmtpServer) -> dict[str, object]:
    """Settings of an instance that mails through `smtp`, retrying after 0.2 s."""
    return {"smtp_url": SecretStr(smtp.url), "jobs_enabled": True, "mail_retry_seconds": 0.2}


@pytest.fixture
async def mailing(settings: Settings, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    async with app_with(settings, **mailing_through(smtp)) as app:
        yield app


def address() -> str:
    return f"{uuid4().hex[:10]}@billing.example"


async def make_key(
    app: FastAPI, organization: Organization, contact: str | None, **fields: object
) -> str:
    async with app.state.sessionmaker() as session:
        service = ApiKeyService(session, organization.id, app.state.key_verifier, actor=OPERATOR)
        _, full_key = await service.create(
            ApiKeyCreate(name=f"Key for {contact}", billing_contact=contact, **fields)  # type: ignore[arg-type]
        )
        await commit(session)
        return full_key


async def plan(app: FastAPI, now: datetime | None = None) -> int:
    if now is None:
        return await plan_notices(
            app.state.sessionmaker, app.state.mail_queue, app.state.settings.public_base_url
        )
    async with app.state.sessionmaker() as session:
        planner = NoticePlanner(session, app.state.mail_queue, app.state.settings.public_base_url)
        recorded = await planner.plan(now)
        await session.commit()
    return recorded


async def delivered(
    smtp: SmtpServer, addresses: list[str], within: float = 10.0
) -> dict[str, list[EmailMessage]]:
    """The messages each address received, once every address has one (or the time is up)."""
    deadline = time.monotonic() + within
    # Messages arrive on the SMTP server's own thread and loop: polled, not awaited.
    while time.monotonic() < deadline and not all(smtp.inbox.to(a) for a in addresses):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a duplicate would show up by now
    return {a: smtp.inbox.to(a) for a in addresses}


async def notices_of(app: FastAPI, organization: Organization) -> list[Notice]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Notice).where(Notice.organization_id == organization.id)
        )
        return list(rows.scalars())


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


class TestDeprecationNotices:
    async def test_every_billing_contact_is_told_once_with_its_own_keys_calls(
        self, mailing: FastAPI, smtp: SmtpServer
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        caller, quiet = address(), address()
        caller_key = await make_key(mailing, organization, caller)
        await make_key(mailing, organization, quiet)
        async with client_for(mailing) as http:
            for _ in range(3):
                assert (await http.get(DEPRECATED, headers=bearer(caller_key))).status_code == 200
        await mailing.state.request_log_writer.flush()

        assert await plan(mailing) >= 2
        inbox = await delivered(smtp, [caller, quiet])
        assert [len(inbox[caller]), len(inbox[quiet])] == [1, 1]
        told = inbox[caller][0]
        assert "GET /v1/company is deprecated" in told["Subject"]
        text = body(told)
        assert "2027-11-01" in text
        assert "GET /v1/companies/me" in text
        assert (
            f"{mailing.state.settings.public_base_url}/changelog#2026-11-01-company-alias" in text
        )
        assert f"Key for {caller}" in text
        assert "3 calls" in text
        assert "<table" in body(told, "html")
        assert "None of your keys called" in body(inbox[quiet][0])

    async def test_running_again_or_on_two_instances_sends_nothing_twice(
        self, mailing: FastAPI, settings: Settings, smtp: SmtpServer
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        contact = address()
        await make_key(mailing, organization, contact)
        await make_key(mailing, organization, contact.upper())  # the same address
        async with app_with(settings, **mailing_through(smtp)) as other:
            await asyncio.gather(plan(mailing), plan(other), plan(mailing))
            await plan(other)
            inbox = await delivered(smtp, [contact])
        assert len(inbox[contact]) == 1

    async def test_only_the_latest_reminder_due_is_sent(
        self, mailing: FastAPI, smtp: SmtpServer
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        contact = address()
        await make_key(mailing, organization, contact, expires_at=datetime(2028, 6, 1, tzinfo=UTC))
        # 27 days before the sunset: the 90- and 30-day reminders are both due.
        await plan(mailing, now=datetime(2027, 10, 5, 12, tzinfo=UTC))
        inbox = await delivered(smtp, [contact])
        subjects = sorted(message["Subject"] for message in inbox[contact])
        assert len(subjects) == 2  # the announcement, and one reminder
        assert any(subject.startswith("27 days left") for subject in subjects)
        stages = {(n.kind, n.stage): n.status for n in await notices_of(mailing, organization)}
        assert (
            stages[("deprecation_reminder", "30")] == "pending"
            or stages[("deprecation_reminder", "30")] == "sent"
        )
        assert stages[("deprecation_reminder", "90")] == "superseded"
        # A later run does not send the superseded one either.
        await plan(mailing, now=datetime(2027, 10, 6, 12, tzinfo=UTC))
        assert len((await delivered(smtp, [contact], within=1))[contact]) == 2

    async def test_a_contact_that_appears_later_is_told_at_the_next_run(
        self, mailing: FastAPI, smtp: SmtpServer
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        first, later = address(), address()
        await make_key(mailing, organization, first)
        await plan(mailing)
        await make_key(mailing, organization, later)
        await plan(mailing)
        inbox = await delivered(smtp, [first, later])
        assert [len(inbox[first]), len(inbox[later])] == [1, 1]


class TestKeyExpiryNotices:
    @pytest.mark.parametrize(("days", "stage"), [(20, "30"), (5, "7")])
    async def test_the_keys_contact_is_told_once_before_it_expires(
        self, mailing: FastAPI, smtp: SmtpServer, days: int, stage: str
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        contact = address()
        await make_key(mailing, organization, contact, expires_at=utc_now() + timedelta(days=days))
        await plan(mailing)
        await plan(mailing)
        inbox = await delivered(smtp, [contact])
        expiring = [m for m in inbox[contact] if "expires on" in m["Subject"]]
        assert len(expiring) == 1
        text = body(expiring[0])
        assert f"Key for {contact}" in text
        assert "POST /v1/api-keys" in text
        assert "rotate" in text
        statuses = {
            n.stage: n.status
            for n in await notices_of(mailing, organization)
            if n.kind == "key_expiry"
        }
        assert statuses[stage] in ("pending", "sent")
        assert set(statuses) == ({"30", "7"} if stage == "7" else {"30"})


async def test_a_mail_server_outage_loses_nothing_and_doubles_nothing(
    settings: Settings, smtp: SmtpServer
) -> None:
    """The server is down while notices fall due; an instance restarts meanwhile; when the
    server is back every notice arrives, once."""
    contacts = [address() for _ in range(3)]
    timeline: list[tuple[float, str]] = []
    started = time.monotonic()

    def note(event: str) -> None:
        timeline.append((round(time.monotonic() - started, 2), event))

    with smtp.down():
        note("SMTP server stopped")
        async with app_with(settings, **mailing_through(smtp)) as first:
            organization = await create_organization(first, plan=Plan.PROFESSIONAL)
            for contact in contacts:
                await make_key(first, organization, contact)
            await plan(first)
            note("notices recorded; first instance trying to send")
            await asyncio.sleep(1.5)
        note("first instance stopped")
        async with app_with(settings, **mailing_through(smtp)):
            await asyncio.sleep(1.0)
            note("second instance running, server still down")
            assert smtp.inbox.messages == [] or not any(smtp.inbox.to(c) for c in contacts)
    note("SMTP server back")
    async with app_with(settings, **mailing_through(smtp)) as third:
        inbox = await delivered(smtp, contacts, within=15)
        note("all delivered")
        statuses = {n.address: n.status for n in await notices_of(third, organization)}
    assert [len(inbox[contact]) for contact in contacts] == [1, 1, 1], timeline
    assert set(statuses.values()) == {"sent"}, timeline


async def test_without_smtp_mail_is_written_as_files_and_listed_on_the_outbox_page(
    settings: Settings, tmp_path: object
) -> None:
    from tests.factories.users import create_user, signed_in

    async with app_with(settings, jobs_enabled=True, mail_retry_seconds=0.2) as app:
        organization = await create_organization(app, plan=Plan.PROFESSIONAL)
        contact = address()
        await make_key(app, organization, contact)
        await plan(app)
        folder = app.state.settings.worksible_data_dir / "outbox"
        deadline = time.monotonic() + 10
        written: list[str] = []
        while time.monotonic() < deadline and not written:
            written = [p.read_text() for p in folder.glob("*.eml") if contact in p.read_text()]
            await asyncio.sleep(0.05)
        assert len(written) == 1
        user, _ = await create_user(app, organization)
        async with signed_in(app, user) as browser:
            page = await browser.http.get("/dashboard/outbox")
        assert contact in page.text
        assert "GET /v1/company is deprecated" in page.text
        assert "No mail is sent" in page.text


class TestTestMode:
    async def test_a_test_keys_expiry_goes_to_the_outbox_not_to_smtp(
        self, mailing: FastAPI, smtp: SmtpServer
    ) -> None:
        organization = await create_organization(mailing, plan=Plan.PROFESSIONAL)
        live_contact, test_contact = address(), address()
        soon = utc_now() + timedelta(days=5)
        await make_key(mailing, organization, live_contact, expires_at=soon)
        await make_key(mailing, organization, test_contact, expires_at=soon, livemode=False)
        await plan(mailing)
        inbox = await delivered(smtp, [live_contact])
        assert [m for m in inbox[live_contact] if "expires on" in m["Subject"]]
        # Nothing at all for the test key's contact, deprecation notices included.
        assert smtp.inbox.to(test_contact) == []
        folder = mailing.state.settings.worksible_data_dir / "outbox"
        deadline = time.monotonic() + 10
        written: list[str] = []
        while time.monotonic() < deadline and not written:
            written = [
                text
                for text in (p.read_text() for p in folder.glob("*.eml"))
                if test_contact in text and "expires on" in text
            ]
            await asyncio.sleep(0.05)
        assert len(written) == 1
        assert not any(live_contact in p.read_text() for p in folder.glob("*.eml"))
        async with mailing.state.sessionmaker() as session:
            twin = await twin_of(session, organization.id)
        assert twin is not None
        notices = await notices_of(mailing, twin)
        (notice,) = [n for n in notices if n.kind == "key_expiry" and n.status != "superseded"]
        assert notice.address == test_contact
        await until_sent(mailing, notice)


async def until_sent(app: FastAPI, notice: Notice, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with app.state.sessionmaker() as session:
            if (await session.get(Notice, notice.id, populate_existing=True)).status == "sent":  # type: ignore[union-attr]
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the notice was not recorded as sent")
