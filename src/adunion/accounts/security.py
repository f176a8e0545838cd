"""Password hashing (argon2id) and high-entropy secrets (API tokens, session cookies).

Passwords are slow-hashed with argon2id. Tokens and cookies are 256-bit random secrets, so a
single SHA-256 is enough to make a stolen database useless for signing in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

TOKEN_MARK = "adu"  # noqa: S105 - a label, not a secret


# Hashes run one per ``parallelism`` cores at a time (each takes 64 MiB and that many threads): a
# burst of sign-ins queues here instead of oversubscribing the CPU, which would starve the event
# loop's thread (decisions, beacons) and hold memory for every hash at once.
_ARGON2_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) // _hasher.parallelism))


def hash_password(password: str) -> str:
    with _ARGON2_SLOTS:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        with _ARGON2_SLOTS:
            return (
                _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
            )
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, expected_hex: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_hex)


def new_session_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenParts:
    prefix: str
    secret: str

    @property
    def plaintext(self) -> str:
        return f"{TOKEN_MARK}_{self.prefix}_{self.secret}"


def new_api_token() -> TokenParts:
    return TokenParts(prefix=secrets.token_hex(6), secret=secrets.token_urlsafe(32))


def split_api_token(plaintext: str) -> TokenParts | None:
    mark, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != TOKEN_MARK or len(prefix) != 12 or len(secret) < 32:
        return None
    return TokenParts(prefix=prefix, secret=secret)
