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

    def to_bytes(self) -> bytes:
        """One string for Redis: `<fingerprint>\\n<status>\\n<content type>\\n<body>`.

        Neither a hex digest, a status code nor a header value holds a line break, so the first
        three split off exactly and the body is everything after them.
        """
        head = f"{self.fingerprint}\n{self.status_code}\n{self.content_type}\n"
        return head.encode() + self.body

    @classmethod
    def from_bytes(cls, raw: bytes) -> "StoredResponse":
        fingerprint, status_code, content_type, body = raw.split(b"\n", 3)
        return cls(fingerprint.decode(), int(status_code), content_type.decode(), body)
