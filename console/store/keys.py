"""The audit log's keys, kept outside the database: in the OS keyring where one is present,
else in key files.

    ~/.config/nightwatch/audit-keys/          (0700; NIGHTWATCH_KEYS_DIR points elsewhere)
        audit.key       32 random bytes as hex (0600): the HMAC-SHA-256 key of the audit chain
        signing.key     an Ed25519 private key, PKCS#8 PEM (0600): signs chain heads and exports
        signing.pub     its public key, PEM: give it to whoever verifies exports
        heads/<chain id>.jsonl   the chain heads signed by the console (NIGHTWATCH_HEADS_DIR)

The OS keyring (the `keyring` package with a real backend: the Secret Service of a desktop
session, macOS Keychain, Windows Credential Locker; never its fail or null backend) holds the two
private keys instead of `audit.key` and `signing.key` when a console creates its keys there:
service "nightwatch audit keys", one entry per key, named by the key folder (so
`NIGHTWATCH_KEYS_DIR` still tells key sets apart); the folder keeps `signing.pub` and the heads.
Key files win: a console whose keys are files keeps using them (nothing is moved), and a machine
without a usable keyring (a service account, CI) creates files as before. `NIGHTWATCH_KEYRING=off`
keeps the keys in files even where a keyring is present. `AuditKeys.location` says where they
are, in words; `nightwatch audit`, the incident browser and the logs show it.

Anyone who can write the database can change rows and recompute plain SHA-256 hashes; without
`audit.key` they cannot make the keyed hashes match, and without `signing.key` they cannot sign a
shorter chain's head. A key file that other users may read is refused (like the secrets file),
naming the `chmod 600` that fixes it. The keys are created on first use, with a warning that says
where they are and that they must be backed up: without `audit.key` the chain can be neither
extended nor checked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

KEYS_ENV = "NIGHTWATCH_KEYS_DIR"
HEADS_ENV = "NIGHTWATCH_HEADS_DIR"
MAC_KEY_FILE = "audit.key"
SIGNING_KEY_FILE = "signing.key"
PUBLIC_KEY_FILE = "signing.pub"
MAC_KEY_BYTES = 32
KEYRING_ENV = "NIGHTWATCH_KEYRING"  # "off": key files even where an OS keyring is present
KEYRING_SERVICE = "nightwatch audit keys"


class AuditKeyError(ValueError):
    """A key file is missing, unreadable, malformed or open to other users; the message names
    the file and what to do."""


def default_keys_dir() -> Path:
    """`$NIGHTWATCH_KEYS_DIR`, else `<user config dir>/nightwatch/audit-keys`."""
    env = os.environ.get(KEYS_ENV)
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path("nightwatch", appauthor=False) / "audit-keys"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, as 16 groups of 4 hex digits (read it aloud)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class AuditKeys:
    """The HMAC key of the audit chain and the Ed25519 key that signs heads and exports."""

    folder: Path
    mac_key: bytes = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)
    heads_dir: Path = field(default=Path())
    location: str = ""  # where the private keys are, in words (key files, or the OS keyring)

    @property
    def key_id(self) -> str:
        """A name for the HMAC key that reveals nothing of it (recorded in the chain)."""
        return hashlib.sha256(b"nightwatch audit key id\0" + self.mac_key).hexdigest()[:16]

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    @property
    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def mac(self, data: bytes) -> str:
        """HMAC-SHA-256 of `data` under the chain key (hex)."""
        return hmac.new(self.mac_key, data, hashlib.sha256).hexdigest()

    def sign(self, data: bytes) -> bytes:
        return self.signing_key.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def heads_file(self, chain_id: str) -> Path:
        return self.heads_dir / f"{chain_id}.jsonl"


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read the key file ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise AuditKeyError(f"{path}: not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"{path}: the key file is open to other users (mode {stat.S_IMODE(mode):03o}); it is "
            f"not used until only its owner can read it: chmod 600 {path}"
        )


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Create `path` with `data` (never overwriting); False if another process made it first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _read_mac_key(path: Path) -> bytes:
    _check_private(path)
    try:
        text = path.read_text("ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuditKeyError(f"{path}: not an audit key (64 hex digits expected): {exc}") from None
    if len(key) != MAC_KEY_BYTES:
        raise AuditKeyError(f"{path}: the audit key has {len(key)} bytes, {MAC_KEY_BYTES} expected")
    return key


def _read_signing_key(path: Path) -> Ed25519PrivateKey:
    _check_private(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path}: an Ed25519 key is expected, found {type(key).__name__}")
    return key


def usable_keyring() -> Any | None:
    """The OS keyring's backend when the `keyring` package is installed, not switched off
    (`NIGHTWATCH_KEYRING=off`) and its backend is a real one; else None (key files)."""
    if os.environ.get(KEYRING_ENV, "").strip().lower() in ("off", "0", "no", "false"):
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration: no keyring, said in the log
        log.warning("the OS keyring cannot be used (%s); audit keys stay in files", exc)
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def keyring_name(backend: Any) -> str:
    """`SecretService Keyring`: the backend's own name, for people."""
    name = getattr(backend, "name", "") or type(backend).__name__
    return str(name)


def _entry(folder: Path, key_file: str) -> str:
    return f"{key_file}@{folder}"


def _keyring_location(backend: Any, folder: Path) -> str:
    return (
        f'the OS keyring ({keyring_name(backend)}: service "{KEYRING_SERVICE}", entries '
        f'"{_entry(folder, MAC_KEY_FILE)}" and "{_entry(folder, SIGNING_KEY_FILE)}")'
    )


def _files_location(folder: Path) -> str:
    return f"key files in {folder} ({MAC_KEY_FILE}, {SIGNING_KEY_FILE}, 0600)"


def _from_keyring(backend: Any, folder: Path, *, create: bool) -> tuple[bytes, str, bool] | None:
    """(MAC key, signing key PEM, created) from the keyring; None when it holds neither entry
    and `create` is off, or creating them there failed (the caller uses files)."""
    from keyring.errors import KeyringError

    where = _keyring_location(backend, folder)
    try:
        mac_hex = backend.get_password(KEYRING_SERVICE, _entry(folder, MAC_KEY_FILE))
        pem = backend.get_password(KEYRING_SERVICE, _entry(folder, SIGNING_KEY_FILE))
    except KeyringError as exc:
        raise AuditKeyError(f"{where}: cannot be read ({exc})") from None
    if mac_hex is None and pem is None:
        if not create:
            return None
        mac_hex = os.urandom(MAC_KEY_BYTES).hex()
        pem = (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode("ascii")
        )
        try:
            backend.set_password(KEYRING_SERVICE, _entry(folder, MAC_KEY_FILE), mac_hex)
            backend.set_password(KEYRING_SERVICE, _entry(folder, SIGNING_KEY_FILE), pem)
        except KeyringError as exc:
            log.warning("the audit keys cannot be stored in %s (%s): key files instead", where, exc)
            with contextlib.suppress(KeyringError):
                backend.delete_password(KEYRING_SERVICE, _entry(folder, MAC_KEY_FILE))
            return None
        return _mac_from_hex(mac_hex, where), pem, True
    if mac_hex is None or pem is None:
        missing = MAC_KEY_FILE if mac_hex is None else SIGNING_KEY_FILE
        raise AuditKeyError(
            f"{where}: the entry {_entry(folder, missing)} is missing (the other is there); "
            "restore it from the keyring's backup"
        )
    return _mac_from_hex(mac_hex, where), pem, False


def _mac_from_hex(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise AuditKeyError(f"{where}: not an audit key (64 hex digits expected): {exc}") from None
    if len(key) != MAC_KEY_BYTES:
        raise AuditKeyError(
            f"{where}: the audit key has {len(key)} bytes, {MAC_KEY_BYTES} expected"
        )
    return key


def _signing_from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{where}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{where}: an Ed25519 key is expected, found {type(key).__name__}")
    return key


def load_audit_keys(folder: Path | None = None, *, create: bool = True) -> AuditKeys:
    """The keys of `folder` (default: `default_keys_dir()`): its key files if it has them, else
    the OS keyring's entries for it where a keyring is usable, created (in the keyring, else as
    files) if missing and `create`; `AuditKeyError` names the file or entry missing or wrong."""
    folder = (folder or default_keys_dir()).expanduser()
    mac_path = folder / MAC_KEY_FILE
    signing_path = folder / SIGNING_KEY_FILE
    has_files = mac_path.exists() or signing_path.exists()
    backend = None if has_files else usable_keyring()
    if backend is not None:
        held = _from_keyring(backend, folder, create=create)
        if held is not None:
            return _keyring_keys(folder, backend, *held, create=create)
    created: list[str] = []
    if create:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if _write_new(mac_path, os.urandom(MAC_KEY_BYTES).hex().encode() + b"\n", 0o600):
                created.append(MAC_KEY_FILE)
            if not signing_path.exists():
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                if _write_new(signing_path, pem, 0o600):
                    created.append(SIGNING_KEY_FILE)
        except OSError as exc:
            raise AuditKeyError(
                f"{exc.filename or folder}: cannot create the audit keys ({exc.strerror})"
            ) from None
    for path in (mac_path, signing_path):
        if not path.exists():
            keyring_note = (
                f", nor in {_keyring_location(backend, folder)}" if backend is not None else ""
            )
            raise AuditKeyError(
                f"{path}: no audit key there{keyring_note} (the console creates its keys on "
                f"first use; on another machine copy the console's key folder, or point "
                f"{KEYS_ENV} at it)"
            )
    signing = _read_signing_key(signing_path)
    heads_env = os.environ.get(HEADS_ENV)
    keys = AuditKeys(
        folder=folder,
        mac_key=_read_mac_key(mac_path),
        signing_key=signing,
        heads_dir=Path(heads_env).expanduser() if heads_env else folder / "heads",
        location=_files_location(folder),
    )
    public_path = folder / PUBLIC_KEY_FILE
    if create and not public_path.exists():
        with contextlib.suppress(OSError):
            _write_new(public_path, keys.public_pem, 0o644)
    if created:
        log.warning(
            "created the audit keys %s in %s (public key %s): back this folder up and keep it "
            "off the database's disk; without audit.key the audit log can be neither extended "
            "nor verified",
            " and ".join(created),
            folder,
            keys.fingerprint,
        )
    return keys


def _keyring_keys(
    folder: Path, backend: Any, mac_key: bytes, pem: str, created: bool, *, create: bool
) -> AuditKeys:
    where = _keyring_location(backend, folder)
    heads_env = os.environ.get(HEADS_ENV)
    keys = AuditKeys(
        folder=folder,
        mac_key=mac_key,
        signing_key=_signing_from_pem(pem.encode("ascii"), where),
        heads_dir=Path(heads_env).expanduser() if heads_env else folder / "heads",
        location=where,
    )
    if create:  # the folder keeps the public key and the signed heads
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_new(folder / PUBLIC_KEY_FILE, keys.public_pem, 0o644)
    if created:
        log.warning(
            "created the audit keys in %s (public key %s): back them up with the keyring's own "
            "backup; without the audit key the audit log can be neither extended nor verified",
            where,
            keys.fingerprint,
        )
    return keys


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
