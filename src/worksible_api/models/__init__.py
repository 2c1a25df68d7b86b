"""Every table, imported here so Alembic's autogenerate sees the whole schema."""

from worksible_api.db.base import Base
from worksible_api.models.api_key import ApiKey
from worksible_api.models.clock_event import ClockEvent
from worksible_api.models.contract import Contract
from worksible_api.models.cost_code import CostCode
from worksible_api.models.freelancer import Freelancer
from worksible_api.models.idempotency_record import IdempotencyRecord
from worksible_api.models.invoice import Invoice, InvoiceLine, InvoiceNumberSequence
from worksible_api.models.kiosk import Kiosk
from worksible_api.models.organization import Organization
from worksible_api.models.payment import Payment
from worksible_api.models.payout import Payout
from worksible_api.models.project import Project
from worksible_api.models.request_log import RequestLog
from worksible_api.models.timesheet import Timesheet
from worksible_api.models.timesheet_clash import TimesheetClash
from worksible_api.models.wbs_element import WbsElement, WbsProgress

__all__ = [
    "ApiKey",
    "Base",
    "ClockEvent",
    "Contract",
    "CostCode",
    "Freelancer",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "Kiosk",
    "Organization",
    "Payment",
    "Payout",
    "Project",
    "RequestLog",
    "Timesheet",
    "TimesheetClash",
    "WbsElement",
    "WbsProgress",
]
