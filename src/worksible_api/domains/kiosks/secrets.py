"""Kiosk secrets (API.md §10): `wsk_kiosk_<secret_id>_<secret>`, shown once, stored digested.

The secret part is 43 base62 characters (256 random bits, the API keys' generator), so a
SHA-256 digest is as safe to store as a slow hash and costs nothing to check on every ingest.
"""

import hashlib
import hmac
from dataclasses import dataclass

from worksible_api.auth.keys import SECRET_LENGTH, new_key_id, new_secret

SECRET_PREFIX = "wsk_kiosk_"
# The secret_id column holds at most 32 characters.
MAX_SECRET_ID_LENGTH = 32
# Compared against when no kiosk matched, so every refusal does the same work.
_NO_DIGEST = "0" * 64


@dataclass(frozen=True)
class KioskSecret:
    secret_id: str
    full: str

    @property
    def digest(self) -> str:
        return secret_digest(self.full)


def new_kiosk_secret(secret_id: str | None = None) -> KioskSecret:
    """A fresh secret; rotation keeps the kiosk's `secret_id` and replaces the rest."""
    secret_id = secret_id or new_key_id()
    return KioskSecret(secret_id, f"{SECRET_PREFIX}{secret_id}_{new_secret()}")


def secret_prefix(secret_id: str) -> str:
    return f"{SECRET_PREFIX}{secret_id}"


def parse_kiosk_secret(raw: str) -> KioskSecret | None:
    if not raw.startswith(SECRET_PREFIX):
        return None
    secret_id, separator, secret = raw[len(SECRET_PREFIX) :].partition("_")
    if not separator or not secret_id.isascii() or not secret_id.isalnum():
        return None
    if len(secret_id) > MAX_SECRET_ID_LENGTH:
        return None
    if len(secret) != SECRET_LENGTH or not secret.isascii() or not secret.isalnum():
        return None
    return KioskSecret(secret_id, raw)


def secret_digest(full: str) -> str:
    return hashlib.sha256(full.encode()).hexdigest()


def digest_matches(presented: KioskSecret | None, stored_digest: str | None) -> bool:
    """Constant-time comparison of digests; False when either side is missing."""
    presented_digest = presented.digest if presented else _NO_DIGEST
    matches = hmac.compare_digest(presented_digest, stored_digest or _NO_DIGEST)
    return matches and presented is not None and stored_digest is not None
