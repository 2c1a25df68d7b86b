from datetime import datetime
from uuid import UUID

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base


class RequestLogHour(Base):
    """The per-minute rollup (models/request_log_minute.py) again per hour, for charts over
    days: a month is 720 hours of a few dozen rows each, where its minutes are hundreds of
    thousands of rows for a busy organization, too many to sum for every page.

    Written in the same transaction as the rows and minutes it counts, with the same columns
    and latency buckets, so the two always agree.
    """

    __tablename__ = "request_log_hours"
    __table_args__ = (Index(None, "hour"),)

    organization_id: Mapped[UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    api_key_id: Mapped[UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
    latency_ms_total: Mapped[int] = mapped_column(BigInteger)
    # Requests per latency bucket (LATENCY_BUCKETS_MS, then one for slower), for percentiles.
    latency_buckets: Mapped[list[int]] = mapped_column(ARRAY(Integer))
