from typing import Literal

from worksible_api.kit.fields import IdStr, ResponseModel, Timestamp


class RequestLogOut(ResponseModel):
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
