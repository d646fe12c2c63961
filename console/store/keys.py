"""The audit log's keys, kept outside the database.

    ~/.config/nightwatch/audit-keys/          (0700; NIGHTWATCH_KEYS_DIR points elsewhere)
        audit.key       32 random bytes as hex (0600): the HMAC-SHA-256 key of the audit chain
        signing.key     an Ed25519 private key, PKCS#8 PEM (0600): signs chain heads and exports
        signing.pub     its public key, PEM: give it to whoever verifies exports
        heads/<chain id>.jsonl   the chain heads signed by the console (NIGHTWATCH_HEADS_DIR)

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


def load_audit_keys(folder: Path | None = None, *, create: bool = True) -> AuditKeys:
    """The keys in `folder` (default: `default_keys_dir()`), created there if missing and
    `create`; `AuditKeyError` names the file that is missing or wrong."""
    folder = (folder or default_keys_dir()).expanduser()
    mac_path = folder / MAC_KEY_FILE
    signing_path = folder / SIGNING_KEY_FILE
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
            raise AuditKeyError(
                f"{path}: no audit key there (the console creates its keys on first use; on "
                f"another machine copy the console's key folder, or point {KEYS_ENV} at it)"
            )
    signing = _read_signing_key(signing_path)
    heads_env = os.environ.get(HEADS_ENV)
    keys = AuditKeys(
        folder=folder,
        mac_key=_read_mac_key(mac_path),
        signing_key=signing,
        heads_dir=Path(heads_env).expanduser() if heads_env else folder / "heads",
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


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
