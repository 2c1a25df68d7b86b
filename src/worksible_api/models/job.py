from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, SmallInteger, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base, IdMixin


class Job(IdMixin, Base):
    """Work to do after a transaction, durably: an email to send, a webhook to deliver.

    Enqueued in the same transaction as the change that calls for it, so the job exists
    exactly when its cause does; run at least once by whichever instance claims it first
    (jobs/). Redis is not involved: a job survives a Redis outage and a restart alike.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'dead')", name="status"),
        # What a runner polls: pending jobs by due time (done and dead ones stay out of it).
        Index("ix_jobs_due", "queue", "run_at", postgresql_where=text("status = 'pending'")),
        Index(None, "finished_at"),
    )

    queue: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    run_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Attempts made so far; a claim adds one, so two runners never make the same attempt.
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(SmallInteger)
    # The lease of the runner working on it: another may claim it only after this.
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
