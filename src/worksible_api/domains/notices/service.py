"""Deprecation and key-expiry notices (API.md §15): decided due, recorded, then mailed.

The planner runs on every instance at least hourly (and on `worksible-api notices run`). In
one transaction it records each notice that has fallen due, one per (notice, address), and
enqueues the job that mails it; a notice recorded once is never recorded again (the unique
constraint), so planners on several instances, or a planner run twice, send nothing twice.
When several notices of one kind fall due at once for one address (a contact who appears
after the 90- and 30-day reminders, a key made to expire in 5 days), only the latest is sent;
the others are recorded as superseded, so a later run does not send them either.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.deprecations import DEPRECATIONS, Deprecation
from worksible_api.domains.api_keys.schemas import ApiKeyOut
from worksible_api.domains.events.emitter import emit
from worksible_api.domains.events.types import EventType
from worksible_api.domains.notices import repository
from worksible_api.domains.notices.repository import ContactKey
from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.domains.request_logs.repository import calls_by_key
from worksible_api.jobs import Queue, enqueue
from worksible_api.kit.time import utc_now
from worksible_api.models import WebhookEndpoint
from worksible_api.templating import mail_templates

REMINDER_DAYS = (90, 30, 7)
EXPIRY_DAYS = (30, 7)
CALLS_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Written:
    subject: str
    text: str
    html: str


def _write(template: str, subject: str, **context: Any) -> Written:
    return Written(
        subject,
        mail_templates.get_template(f"{template}.txt").render(**context),
        mail_templates.get_template(f"{template}.html").render(**context),
    )


def _due_stages(days_left: float, stages: tuple[int, ...]) -> list[int]:
    """The reminder stages (days before the date) that have come, most urgent first."""
    return sorted(stage for stage in stages if days_left <= stage)


class NoticePlanner:
    def __init__(self, session: AsyncSession, queue: Queue, public_base_url: str) -> None:
        self.session = session
        self.queue = queue
        self.base = public_base_url.rstrip("/")
        self.recorded = 0

    async def plan(self, now: datetime) -> int:
        """Records and enqueues what is due at `now`; how many notices were recorded."""
        if not await repository.try_planner_lock(self.session):
            return 0  # another instance is planning right now
        keys = await repository.active_keys_with_contacts(self.session, now)
        for deprecation in DEPRECATIONS:
            await self._deprecation(deprecation, keys, now)
        await self._expiries(keys, now)
        return self.recorded

    async def _deprecation(
        self, deprecation: Deprecation, keys: list[ContactKey], now: datetime
    ) -> None:
        today = now.date()
        if not deprecation.announced_on <= today < deprecation.sunset_on:
            return
        days_left = (deprecation.sunset_on - today).days
        reminders = _due_stages(days_left, REMINDER_DAYS)
        contacts: dict[tuple[UUID, str], list[ContactKey]] = defaultdict(list)
        for key in keys:
            contacts[(key.organization_id, key.address.lower())].append(key)
        calls: dict[UUID, dict[UUID, int]] = {}
        for (organization_id, address), theirs in contacts.items():
            if organization_id not in calls:
                calls[organization_id] = dict(
                    await calls_by_key(
                        self.session,
                        organization_id,
                        deprecation.method,
                        deprecation.path,
                        now - CALLS_WINDOW,
                    )
                )
            called = [
                (key, calls[organization_id][key.id])
                for key in theirs
                if key.id in calls[organization_id]
            ]
            context = {
                "deprecation": deprecation,
                "link": deprecation.link(self.base),
                "calls": called,
                "organization": theirs[0].organization_name,
            }
            await self.record_notice(
                organization_id,
                "deprecation_announcement",
                deprecation.operation,
                "announcement",
                address,
                _write(
                    "deprecation",
                    f"{deprecation.operation} is deprecated: it stops working on "
                    f"{deprecation.sunset_on.isoformat()}",
                    stage="announcement",
                    **context,
                ),
            )
            for stage in reminders:
                await self.record_notice(
                    organization_id,
                    "deprecation_reminder",
                    deprecation.operation,
                    str(stage),
                    address,
                    _write(
                        "deprecation",
                        f"{days_left} days left: {deprecation.operation} stops working on "
                        f"{deprecation.sunset_on.isoformat()}",
                        stage=stage,
                        **context,
                    ),
                    superseded=stage != reminders[0],
                )

    async def _expiries(self, keys: list[ContactKey], now: datetime) -> None:
        for key in keys:
            stages = _due_stages((key.expires_at - now) / timedelta(days=1), EXPIRY_DAYS)
            for stage in stages:
                recorded = await self.record_notice(
                    key.organization_id,
                    "key_expiry",
                    str(key.id),
                    str(stage),
                    key.address.lower(),
                    _write(
                        "key_expiry",
                        f'Your Worksible API key "{key.name}" expires on {key.expires_at:%Y-%m-%d}',
                        key=key,
                        stage=stage,
                        organization=key.organization_name,
                        dashboard=f"{self.base}/dashboard/settings/api",
                    ),
                    superseded=stage != stages[0],
                )
                # One event per key and stage, whichever addresses are told (API.md §16).
                if recorded is not None and recorded.first_of_stage:
                    rendered = ApiKeyOut.model_validate(key.api_key)
                    emit(self.session, key.organization_id, EventType.API_KEY_EXPIRING, rendered)

    async def record_notice(
        self,
        organization_id: UUID,
        kind: str,
        subject: str,
        stage: str,
        address: str,
        mail: Written,
        *,
        superseded: bool = False,
    ) -> repository.Recorded | None:
        recorded = await repository.record(
            self.session,
            {
                "organization_id": organization_id,
                "kind": kind,
                "subject": subject,
                "stage": stage,
                "address": address,
                "status": "superseded" if superseded else "pending",
                "mail_subject": mail.subject,
                "mail_text": mail.text,
                "mail_html": mail.html,
            },
        )
        if recorded is not None and not superseded:
            enqueue(self.session, self.queue, {"notice_id": str(recorded.notice_id)})
            self.recorded += 1
        return recorded


async def plan_notices(
    sessionmaker: async_sessionmaker[AsyncSession], queue: Queue, public_base_url: str
) -> int:
    """One planner run, committed: the notices recorded (and enqueued)."""
    async with sessionmaker() as session:
        recorded = await NoticePlanner(session, queue, public_base_url).plan(utc_now())
        await session.commit()
    return recorded


async def endpoint_disabled(
    queue: Queue,
    public_base_url: str,
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    now: datetime,
) -> int:
    """Tells the organization's billing contacts, in the caller's transaction (the one that
    disables the endpoint), that `endpoint` was disabled; how many were told."""
    planner = NoticePlanner(session, queue, public_base_url)
    keys = await repository.active_keys_with_contacts(session, now)
    addresses = sorted(
        {key.address.lower() for key in keys if key.organization_id == endpoint.organization_id}
    )
    organization = await OrganizationRepository(session, endpoint.organization_id).current()
    mail = _write(
        "endpoint_disabled",
        f"Webhook endpoint disabled: {endpoint.url}",
        endpoint=endpoint,
        organization=organization.name,
        last_error=None,
        dashboard=f"{planner.base}/dashboard/settings/api",
    )
    for address in addresses:
        await planner.record_notice(
            endpoint.organization_id,
            "endpoint_disabled",
            str(endpoint.id),
            f"{now:%Y%m%d%H%M%S}",  # each time it is disabled is a notice of its own
            address,
            mail,
        )
    return len(addresses)
