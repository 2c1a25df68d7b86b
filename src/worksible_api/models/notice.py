from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin


class Notice(IdMixin, Base):
    """An email the service owes one address (API.md §15): a deprecation's announcement or
    reminder, or a key's expiry warning.

    The unique constraint is the "exactly once per (notice, address)" (a notice is an
    organization's: two share an address, each is told of its own keys): a notice is recorded
    in the transaction that finds it due, and never again, whatever runs the planner.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('deprecation_announcement', 'deprecation_reminder', 'key_expiry', "
            "'endpoint_disabled')",
            name="kind",
        ),
        CheckConstraint("status IN ('pending', 'sent', 'superseded', 'failed')", name="status"),
        UniqueConstraint("organization_id", "kind", "subject", "stage", "address"),
        Index(None, "organization_id", "created_at"),
    )

    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    # What it is about: a deprecated operation (`GET /v1/company`), an API key's id or a
    # webhook endpoint's.
    subject: Mapped[str] = mapped_column(String(300))
    # `announcement`, or the days before the date: `90`, `30`, `7`.
    stage: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    # The message as written when the notice fell due: every attempt sends the same one.
    mail_subject: Mapped[str] = mapped_column(String(300))
    mail_text: Mapped[str] = mapped_column(Text)
    mail_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
