from datetime import datetime
from uuid import UUID

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base

# Upper bounds (ms) of the latency buckets; the last bucket holds everything slower.
LATENCY_BUCKETS_MS: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class RequestLogMinute(Base):
    """The request log rolled up per minute, key, method and status (API.md §14's charts).

    Written in the same transaction as the rows it counts (domains/request_logs/repository.py),
    so it always agrees with them. Charts and the overview read it instead of the raw rows: a
    month of a busy organization is thousands of these, not millions of rows.
    """

    __tablename__ = "request_log_minutes"
    __table_args__ = (Index(None, "minute"),)

    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    api_key_id: Mapped[UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
    latency_ms_total: Mapped[int] = mapped_column(BigInteger)
    # Requests per latency bucket (LATENCY_BUCKETS_MS, then one for slower), for percentiles.
    latency_buckets: Mapped[list[int]] = mapped_column(ARRAY(Integer))
