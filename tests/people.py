"""Accounts for tests: real argon2id hashes (with small parameters where a test makes many), and
people added to a real store the way the first start and a supervisor would."""

from __future__ import annotations

from console.passwords import HashParameters, Password, PasswordHashing
from console.roles import Role
from console.store import AddUser, Store

# Real argon2id, cheaper than OWASP's 19 MiB x 2 so that a table of 60 sign-ins stays quick.
QUICK_HASHING = PasswordHashing(HashParameters(time_cost=1, memory_kib=1024, parallelism=1))

PASSWORDS = {
    "night-monitor": "correct horse battery",
    "boss": "supervise the night",
    "audrey": "read every line twice",
    "relief": "second shift coffee",
    "spare": "kept in the drawer",
    "monitor-1": "first monitor on duty",
}


def password_of(name: str) -> Password:
    return Password(PASSWORDS[name])


def enroll(
    store: Store, name: str, role: Role | str, *, hashing: PasswordHashing = QUICK_HASHING
) -> None:
    """Add `name` with its test password (written, committed)."""
    hashed = hashing.hash(password_of(name))
    store.write(AddUser(name, role, by="test", password_hash=hashed)).result()
