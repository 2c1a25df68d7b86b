from dataclasses import dataclass

from starlette.responses import Response

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class StoredResponse:
    """A kept 2xx response and the fingerprint of the request that produced it."""

    fingerprint: str
    status_code: int
    content_type: str
    body: bytes

    def replay(self) -> Response:
        return Response(
            self.body,
            status_code=self.status_code,
            media_type=self.content_type,
            headers={REPLAYED_HEADER: "true"},
        )
