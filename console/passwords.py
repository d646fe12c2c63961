"""Passwords: a value that never prints itself, and argon2id hashing at OWASP's parameters.

    secret = Password(typed)                 # repr and str say "***"
    stored = PASSWORDS.hash(secret)          # "$argon2id$v=19$m=19456,t=2,p=1$..."
    PASSWORDS.verify(stored, secret)         # True / False, never raises on a wrong password

OWASP's Password Storage Cheat Sheet: argon2id with at least 19 MiB of memory, 2 iterations and
1 degree of parallelism. Verifying takes about 0.06-0.1 s on a 2-core machine (on purpose): the
console runs it on the core thread, never on the GUI thread. Only the hash is stored; the
password itself is never logged, audited, put in an exception or on a command line.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "OWASP_ARGON2ID",
    "PASSWORDS",
    "HashParameters",
    "Password",
    "PasswordHashing",
    "check_new_password",
]

MIN_PASSWORD_CHARS = 12  # OWASP ASVS 4.0, V2.1.1
MAX_PASSWORD_CHARS = 128


class Password:
    """A password in memory: compared and hashed, never shown (repr, str, logs, tracebacks)."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError("a password is text")
        self._text = text

    def reveal(self) -> str:
        """The text, for the hasher only."""
        return self._text

    def __len__(self) -> int:
        return len(self._text)

    def __bool__(self) -> bool:
        return bool(self._text)

    def __repr__(self) -> str:
        return "Password('***')"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Password is not pickled")


def check_new_password(password: Password, name: str) -> None:
    """A new password's rules (ValueError in words): 12 to 128 characters, not the name."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(
            f"a password needs at least {MIN_PASSWORD_CHARS} characters "
            f"(this one has {len(password)})"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    if password.reveal().strip().casefold() == name.strip().casefold():
        raise ValueError("a password cannot be the account's name")


@dataclass(frozen=True, slots=True)
class HashParameters:
    time_cost: int
    memory_kib: int
    parallelism: int


OWASP_ARGON2ID = HashParameters(time_cost=2, memory_kib=19 * 1024, parallelism=1)


class PasswordHashing:
    """argon2id hashes: make, verify, and say when a stored one is weaker than the parameters."""

    def __init__(self, parameters: HashParameters = OWASP_ARGON2ID) -> None:
        self.parameters = parameters
        self._hasher = PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._decoy: str | None = None

    def hash(self, password: Password) -> str:
        return self._hasher.hash(password.reveal())

    def verify(self, stored: str | None, password: Password) -> bool:
        """True when `password` matches `stored`. A missing or unreadable hash costs the same time
        as a wrong password (a decoy is verified), so timing does not tell which names exist."""
        if not stored:
            self._verify_decoy(password)
            return False
        try:
            return self._hasher.verify(stored, password.reveal())
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            return False

    def _verify_decoy(self, password: Password) -> None:
        if self._decoy is None:
            self._decoy = self._hasher.hash("decoy password, never matched")
        with contextlib.suppress(VerificationError, InvalidHashError):
            self._hasher.verify(self._decoy, password.reveal())

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


PASSWORDS = PasswordHashing()
