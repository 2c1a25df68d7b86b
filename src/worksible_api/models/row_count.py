from uuid import UUID

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from worksible_api.db.base import Base

# The tables whose rows are counted here, per organization (migration 9c4d2e71a0b3).
COUNTED_TABLES = frozenset(
    {
        "api_keys",
        "clock_events",
        "contracts",
        "cost_codes",
        "events",
        "freelancers",
        "invoices",
        "kiosks",
        "payments",
        "payouts",
        "projects",
        "request_logs",
        "timesheet_clashes",
        "timesheets",
        "users",
        "webhook_endpoints",
    }
)
# Rows of one organization and table are spread over this many counters, chosen by the
# database session (its backend pid), so concurrent inserts rarely wait on one counter row.
COUNTER_SLOTS = 16


class RowCount(Base):
    """How many rows an organization has in a table, kept by triggers in the transaction that
    inserts or deletes them: a list without filters reads its `count` here instead of
    counting a million rows (issue 20). The sum over the slots is the count.

    No foreign key to the organization: a cascade deleting an organization's rows updates
    these counters on the way, and they must not be deleted under it first.
    """

    __tablename__ = "row_counts"

    organization_id: Mapped[UUID] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
