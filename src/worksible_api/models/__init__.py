"""Every table, imported here so Alembic's autogenerate sees the whole schema."""

from worksible_api.db.base import Base
from worksible_api.models.api_key import ApiKey
from worksible_api.models.clock_event import ClockEvent
from worksible_api.models.contract import Contract
from worksible_api.models.cost_code import CostCode
from worksible_api.models.dashboard_session import DashboardSession
from worksible_api.models.event import Event
from worksible_api.models.freelancer import Freelancer
from worksible_api.models.idempotency_record import IdempotencyRecord
from worksible_api.models.invoice import Invoice, InvoiceLine, InvoiceNumberSequence
from worksible_api.models.job import Job
from worksible_api.models.kiosk import Kiosk
from worksible_api.models.notice import Notice
from worksible_api.models.organization import Organization
from worksible_api.models.payment import Payment
from worksible_api.models.payout import Payout
from worksible_api.models.project import Project
from worksible_api.models.request_log import RequestLog
from worksible_api.models.request_log_hour import RequestLogHour
from worksible_api.models.request_log_minute import RequestLogMinute
from worksible_api.models.row_count import RowCount
from worksible_api.models.sign_in_failure import SignInFailure
from worksible_api.models.timesheet import Timesheet
from worksible_api.models.timesheet_clash import TimesheetClash
from worksible_api.models.user import User
from worksible_api.models.wbs_element import WbsElement, WbsProgress
from worksible_api.models.webhook_attempt import WebhookAttempt
from worksible_api.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "Base",
    "ClockEvent",
    "Contract",
    "CostCode",
    "DashboardSession",
    "Event",
    "Freelancer",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "Job",
    "Kiosk",
    "Notice",
    "Organization",
    "Payment",
    "Payout",
    "Project",
    "RequestLog",
    "RequestLogHour",
    "RequestLogMinute",
    "RowCount",
    "SignInFailure",
    "Timesheet",
    "TimesheetClash",
    "User",
    "WbsElement",
    "WbsProgress",
    "WebhookAttempt",
    "WebhookEndpoint",
]
