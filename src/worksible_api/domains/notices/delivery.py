"""Mailing a recorded notice: the `mail` queue's job (jobs/)."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.domains.notices import repository
from worksible_api.jobs import Queue
from worksible_api.kit.time import utc_now
from worksible_api.mail import ORGANIZATION_HEADER, Mail, Mailer

QUEUE = "mail"
# Retried for a day: long enough for any mail server outage we would not hear about first.
MAX_ATTEMPTS = 300
SEND_TIMEOUT = timedelta(seconds=60)


class NoticeMailer:
    """Sends a pending notice and records it sent. A crash between the two resends it (at least
    once); its Message-ID stays the same, so a mail system can tell it is the same message.

    Test mode sends no email (API.md §17): a test twin's notices (its test keys' expiry, its
    endpoints disabled) go to the outbox, whatever `mailer` is, and show on the dashboard's
    outbox page in test mode like any other.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], mailer: Mailer, outbox: Mailer
    ) -> None:
        self._sessionmaker = sessionmaker
        self._mailer = mailer
        self._outbox = outbox

    async def send(self, payload: dict[str, Any], attempt: int) -> None:
        notice_id = UUID(payload["notice_id"])
        async with self._sessionmaker() as session:
            found = await repository.find_to_send(session, notice_id)
        if found is None or found[0].status != "pending":
            return  # sent by an earlier attempt, or its organization is gone
        notice, livemode = found
        await (self._mailer if livemode else self._outbox).send(
            Mail(
                to=notice.address,
                subject=notice.mail_subject,
                text=notice.mail_text,
                html=notice.mail_html,
                message_id=f"<notice-{notice.id}@worksible.com>",
                headers={ORGANIZATION_HEADER: str(notice.organization_id)},
            )
        )
        async with self._sessionmaker() as session:
            await repository.mark_sent(session, notice_id, utc_now())
            await session.commit()

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        async with self._sessionmaker() as session:
            await repository.mark_failed(session, UUID(payload["notice_id"]))
            await session.commit()


def mail_queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    outbox: Mailer,
    first_retry: timedelta,
) -> Queue:
    """Retries after `first_retry`, then twice, four and ten times as long, then at that."""
    sender = NoticeMailer(sessionmaker, mailer, outbox)
    return Queue(
        name=QUEUE,
        handler=sender.send,
        delays=[first_retry * factor for factor in (1, 2, 4, 10)],
        max_attempts=MAX_ATTEMPTS,
        timeout=SEND_TIMEOUT,
        gave_up=sender.gave_up,
    )
