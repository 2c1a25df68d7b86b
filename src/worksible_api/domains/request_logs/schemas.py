from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from worksible_api.kit.fields import IdStr, TenantOut, Timestamp


class RequestLogOut(TenantOut):
    object: Literal["request_log"] = "request_log"
    id: IdStr
    request_id: str
    method: str
    path: str
    status: int
    latency_ms: int
    ip: str
    user_agent: str | None
    api_key_id: IdStr
    created_at: Timestamp


@dataclass(frozen=True)
class LogFilters:
    """What the dashboard filters the log by; None is no filter."""

    status: int | None = None
    status_class: int | None = None  # 2, 3, 4 or 5
    method: str | None = None
    path_prefix: str | None = None
    api_key_id: UUID | None = None

    @property
    def rolled_up(self) -> bool:
        """Whether the per-minute rollup can answer these filters."""
        return self.path_prefix is None
