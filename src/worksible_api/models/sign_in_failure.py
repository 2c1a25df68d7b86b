from datetime import datetime

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base


class SignInFailure(Base):
    """A failed sign-in for an address, known or not: five in 15 minutes lock it (API.md §14)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index(None, "email_key", "failed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # lower(email), as entered.
    email_key: Mapped[str] = mapped_column(String(320))
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())
