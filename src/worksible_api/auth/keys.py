"""API key format, generation and hashing (API.md §2)."""

import hashlib
import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

LIVE_PREFIX = "wsk_live_"
# Test keys act for their organization's test twin (API.md §17).
TEST_PREFIX = "wsk_test_"
_ALPHABET = string.ascii_letters + string.digits
KEY_ID_LENGTH = 12
# 43 base62 characters carry 256 bits, above the 192 the contract asks for.
SECRET_LENGTH = 43

# OWASP's argon2id parameters: ~20 ms a verify, paid only on a key's first request.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    secret: str
    full: str
    # Which prefix it came with: a key is valid only under its own (auth/verifier.py).
    livemode: bool


def _random_string(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_key_id() -> str:
    return _random_string(KEY_ID_LENGTH).lower()


def new_secret() -> str:
    return _random_string(SECRET_LENGTH)


def key_prefix(key_id: str, *, livemode: bool) -> str:
    return f"{LIVE_PREFIX if livemode else TEST_PREFIX}{key_id}"


def format_key(key_id: str, secret: str, *, livemode: bool) -> str:
    return f"{key_prefix(key_id, livemode=livemode)}_{secret}"


def parse_key(raw: str) -> ParsedKey | None:
    if raw.startswith(LIVE_PREFIX):
        livemode = True
    elif raw.startswith(TEST_PREFIX):
        livemode = False
    else:
        return None
    # Both prefixes have the same length.
    key_id, sep, secret = raw[len(LIVE_PREFIX) :].partition("_")
    if not sep or not key_id.isalnum() or not key_id.isascii() or len(key_id) > 32:
        return None
    if len(secret) != SECRET_LENGTH or not secret.isalnum() or not secret.isascii():
        return None
    return ParsedKey(key_id=key_id, secret=secret, full=raw, livemode=livemode)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    """Slow on purpose (argon2id); call it from a worker thread."""
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def key_digest(full_key: str) -> str:
    """A fast digest of the whole key: what the key cache compares, never the key itself."""
    return hashlib.sha256(full_key.encode()).hexdigest()
