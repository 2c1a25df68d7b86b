"""Outgoing mail (API.md §15): SMTP in production, `.eml` files in development.

With `SMTP_URL` (`smtp://user:pass@host:587`, STARTTLS when the server offers it, or
`smtps://…:465` for TLS from the start) mail goes through that server. Without it, each
message is written as an `.eml` file under the data folder's `outbox/`, which the dashboard's
outbox page lists, so `make run` needs no mail server and shows what would have been sent.
A failed send raises: the job that sends it tries again later (jobs/).
"""

import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from worksible_api.config import Settings

SMTP_TIMEOUT_SECONDS = 30.0
ORGANIZATION_HEADER = "X-Worksible-Organization"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    # Stable for one notice, so a receiver can tell a resend from a new message.
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)

    def message(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Message-ID"] = self.message_id
        message["Date"] = formatdate(localtime=False, usegmt=True)
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    url: str
    sender: str

    async def send(self, mail: Mail) -> None:
        parts = urlsplit(self.url)
        implicit_tls = parts.scheme == "smtps"
        await aiosmtplib.send(
            mail.message(self.sender),
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if implicit_tls else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else None,  # None: STARTTLS when the server offers it
            timeout=SMTP_TIMEOUT_SECONDS,
        )


@dataclass(frozen=True)
class FileMailer:
    folder: Path
    sender: str

    async def send(self, mail: Mail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = mail.message_id.strip("<>").replace("@", "_").replace("/", "_")
        target = self.folder / f"{name}.eml"
        partial = target.with_suffix(".eml.partial")
        partial.write_bytes(bytes(mail.message(self.sender)))
        os.replace(partial, target)  # a reader never sees half a message


def outbox_folder(settings: Settings) -> Path:
    return settings.worksible_data_dir / "outbox"


def outbox_for(settings: Settings) -> FileMailer:
    """Where mail goes that is never sent: all of it in development, test mode's always."""
    return FileMailer(outbox_folder(settings), settings.mail_from)


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_url is not None:
        return SmtpMailer(settings.smtp_url.get_secret_value(), settings.mail_from)
    return outbox_for(settings)
