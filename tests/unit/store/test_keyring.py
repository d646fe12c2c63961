"""The audit keys in the OS keyring where a real one is present, else in 0600 files.

`FakeKeyring` is a fake: an in-memory keyring backend (the `keyring` package's own interface,
set with `keyring.set_keyring`), standing in for a desktop's Secret Service, which CI and this
machine lack. The file fallback is tested with the package's real fail backend, the one a
machine without a keyring gets.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from console.store import AppendAudit, AuditKeyError, Store, load_audit_keys, verify_store
from console.store.keys import KEYRING_ENV, KEYRING_SERVICE, usable_keyring
from tests.unit.store.support import url_of


class FakeKeyring(KeyringBackend):
    """A fake keyring backend: passwords in a dict, in memory."""

    priority = 1.0  # type: ignore[assignment]  # keyring declares it a class property

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def fake_keyring() -> Iterator[FakeKeyring]:
    before = keyring.get_keyring()
    fake = FakeKeyring()
    keyring.set_keyring(fake)
    yield fake
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def test_keys_are_made_in_the_keyring_and_read_back_from_it(
    fake_keyring: FakeKeyring, tmp_path: Path
) -> None:
    folder = tmp_path / "keys"
    made = load_audit_keys(folder)
    assert not (folder / "audit.key").exists()
    assert not (folder / "signing.key").exists()
    assert (folder / "signing.pub").read_bytes() == made.public_pem  # public: stays a file
    assert sorted(user for service, user in fake_keyring.entries if service == KEYRING_SERVICE) == [
        f"audit.key@{folder}",
        f"signing.key@{folder}",
    ]
    assert made.location.startswith("the OS keyring (")
    assert "FakeKeyring" in made.location
    again = load_audit_keys(folder, create=False)
    assert (again.key_id, again.fingerprint) == (made.key_id, made.fingerprint)
    other = load_audit_keys(tmp_path / "other")  # another folder: another key set
    assert other.key_id != made.key_id

    store = Store(url_of(tmp_path / "nightwatch.db"), keys_dir=folder)
    try:
        store.write(AppendAudit("ana", "test.row", "x", {})).result()
        assert store.keys is not None
        assert store.keys.key_id == made.key_id
        assert store.read(verify_store, store.keys, store.files).ok
    finally:
        store.close()


def test_a_missing_keyring_entry_is_named(fake_keyring: FakeKeyring, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    load_audit_keys(folder)
    del fake_keyring.entries[(KEYRING_SERVICE, f"signing.key@{folder}")]
    with pytest.raises(AuditKeyError, match=f"signing.key@{folder} is missing"):
        load_audit_keys(folder)
    with pytest.raises(AuditKeyError, match="nor in the OS keyring"):
        load_audit_keys(tmp_path / "never-made", create=False)


def test_existing_key_files_keep_working_and_are_not_moved(
    fake_keyring: FakeKeyring, tmp_path: Path
) -> None:
    folder = tmp_path / "keys"
    keyring.set_keyring(fail.Keyring())  # the console made its keys before a keyring existed
    made = load_audit_keys(folder)
    keyring.set_keyring(fake_keyring)
    again = load_audit_keys(folder)
    assert again.key_id == made.key_id
    assert again.location == f"key files in {folder} (audit.key, signing.key, 0600)"
    assert fake_keyring.entries == {}  # nothing moved


def test_without_a_usable_keyring_the_keys_are_private_files(
    no_keyring: None, tmp_path: Path
) -> None:
    assert usable_keyring() is None
    folder = tmp_path / "keys"
    made = load_audit_keys(folder)
    for name in ("audit.key", "signing.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert made.location.startswith("key files in ")


def test_the_keyring_can_be_switched_off(
    fake_keyring: FakeKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert usable_keyring() is fake_keyring
    monkeypatch.setenv(KEYRING_ENV, "off")
    assert usable_keyring() is None
    made = load_audit_keys(tmp_path / "keys")
    assert made.location.startswith("key files in ")
    assert fake_keyring.entries == {}
