"""Whose idempotency records these are, and the lock on what they kept (API.md §5).

Records belong to the secret that sent the request: an API key's, or a kiosk's for the
ingest. The same Idempotency-Key from another credential is another request and never sees
the first one's answer. A kept response is sealed (AES-256-GCM) under a key derived from that
secret, so PostgreSQL and Redis, and any backup of them, hold a scope (an HMAC of the secret)
and ciphertext: nothing there replays a record, or reads the API key a create returned,
without the caller's own secret. A rotated secret is a new credential and starts afresh.

The secrets are 256 random bits, so an HMAC of them is a sound key derivation (no salt or
stretching needed), and costs a microsecond.
"""

import functools
import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_SCOPE_LABEL = b"worksible idempotency scope v1"
_SEAL_LABEL = b"worksible idempotency seal v1"
_NONCE_BYTES = 12
SCOPE_LENGTH = 32


class UnreadableRecord(Exception):
    """A kept response that does not open with the caller's key: it was altered at rest."""


@dataclass(frozen=True)
class _Derived:
    """What a secret's records are named and sealed with."""

    scope: str
    cipher: AESGCM


# Derived keys by the digest of their secret, the oldest dropped first: every write with an
# Idempotency-Key needs them, and deriving them (an HMAC each and AES's key schedule) cost an
# idempotent create ~2-3 % of its instructions, the same for every request of one key. Keyed by
# digest, so the cache keeps no secret that could call the API after its request.
_DERIVED: OrderedDict[bytes, _Derived] = OrderedDict()
_DERIVED_KEPT = 1024


def _derive(secret: bytes) -> _Derived:
    digest = hashlib.sha256(secret).digest()
    derived = _DERIVED.get(digest)
    if derived is None:
        scope = hmac.new(secret, _SCOPE_LABEL, hashlib.sha256).hexdigest()[:SCOPE_LENGTH]
        cipher = AESGCM(hmac.new(secret, _SEAL_LABEL, hashlib.sha256).digest())
        derived = _DERIVED[digest] = _Derived(scope, cipher)
        if len(_DERIVED) > _DERIVED_KEPT:
            _DERIVED.popitem(last=False)
    return derived


class Credential:
    """The secret a request was made with, as idempotency uses it; never shown or logged."""

    def __init__(self, secret: str, public_id: str) -> None:
        self._secret = secret.encode()
        # The credential's public part (an API key's key id, `kiosk:<secret id>`): Redis keeps
        # its records in that id's slot, beside what the gate reads with them (cache/client.py).
        self.public_id = public_id

    def __repr__(self) -> str:
        return f"Credential(scope={self.scope!r})"

    @functools.cached_property
    def _derived(self) -> _Derived:
        # Only a write with an Idempotency-Key asks: every request of a key has a credential.
        return _derive(self._secret)

    @property
    def scope(self) -> str:
        """Names the credential's records; reveals nothing about the secret."""
        return self._derived.scope

    @property
    def _cipher(self) -> AESGCM:
        return self._derived.cipher

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """`plaintext` encrypted and bound to `context` (what it answers), nonce first."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._cipher.decrypt(nonce, ciphertext, context)
        except InvalidTag as exc:
            raise UnreadableRecord("a kept response failed its integrity check") from exc
