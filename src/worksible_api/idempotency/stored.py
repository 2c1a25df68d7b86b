from dataclasses import dataclass

from starlette.responses import Response

from worksible_api.idempotency.credential import Credential

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class StoredResponse:
    """A kept 2xx response, its body sealed under the caller's credential (credential.py), and
    the fingerprint of the request that produced it."""

    fingerprint: str
    status_code: int
    content_type: str
    sealed_body: bytes

    @classmethod
    def keep(
        cls,
        credential: Credential,
        fingerprint: str,
        status_code: int,
        content_type: str,
        body: bytes,
    ) -> "StoredResponse":
        context = _context(fingerprint, status_code, content_type)
        return cls(fingerprint, status_code, content_type, credential.seal(body, context))

    def replay(self, credential: Credential) -> Response:
        context = _context(self.fingerprint, self.status_code, self.content_type)
        return Response(
            credential.open(self.sealed_body, context),
            status_code=self.status_code,
            media_type=self.content_type,
            headers={REPLAYED_HEADER: "true"},
        )

    def to_bytes(self) -> bytes:
        """One string for Redis: `<fingerprint>\\n<status>\\n<content type>\\n<sealed body>`.

        Neither a hex digest, a status code nor a header value holds a line break, so the first
        three split off exactly and the body is everything after them.
        """
        head = f"{self.fingerprint}\n{self.status_code}\n{self.content_type}\n"
        return head.encode() + self.sealed_body

    @classmethod
    def from_bytes(cls, raw: bytes) -> "StoredResponse":
        fingerprint, status_code, content_type, body = raw.split(b"\n", 3)
        return cls(fingerprint.decode(), int(status_code), content_type.decode(), body)


def _context(fingerprint: str, status_code: int, content_type: str) -> bytes:
    # What the sealed body answers: altering any of it at rest fails the seal.
    return f"{fingerprint}\n{status_code}\n{content_type}".encode()
