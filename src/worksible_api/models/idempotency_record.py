from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, LargeBinary, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base
from worksible_api.idempotency.credential import SCOPE_LENGTH


class IdempotencyRecord(Base):
    """The 2xx response of a write made with an Idempotency-Key (API.md §5).

    Inserted in the same transaction as the write it protects, so "the write happened" and
    "its response is on record" commit together: a retry can never execute it twice.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (Index(None, "expires_at"), Index(None, "organization_id"))

    # The credential that sent the request (idempotency/credential.py): records are its own.
    scope: Mapped[str] = mapped_column(String(SCOPE_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # SHA-256 of method, path and the canonical body: "the same request".
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    # Sealed under a key derived from the credential's secret: unreadable without it.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
