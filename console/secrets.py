"""Credentials and shared secrets, kept out of the site file.

The site file names a camera's (or an MQTT broker's) credentials by key (`credentials: cam-east`)
and a webhook's shared secret by key (`secret: gallery-hook`); the values live in a secrets file
readable by the console's user alone (a file that other users may read or write is refused,
naming the `chmod 600` that fixes it):

    # ~/.config/nightwatch/secrets.yaml   (chmod 600)
    cam-east: {username: viewer, password: "s3cret"}
    gallery-hook: {secret: "a long random string"}

`NIGHTWATCH_SECRETS` points elsewhere. Passwords never reach a log line: every URL shown is
masked by `inference.sources.mask_credentials`.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import platformdirs
import yaml

log = logging.getLogger(__name__)


class SecretsError(ValueError):
    """The secrets file is unreadable or malformed, or lacks a key; the message names them."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def secrets_path() -> Path:
    env = os.environ.get("NIGHTWATCH_SECRETS")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("nightwatch")) / "secrets.yaml"


@dataclass(frozen=True, slots=True)
class SharedSecret:
    """A secret both ends know (a webhook's HMAC key)."""

    value: str

    def __repr__(self) -> str:
        return "SharedSecret('***')"


def load_secrets(path: Path | None = None) -> dict[str, Credentials]:
    """Every user-and-password entry of the secrets file; an absent file is an empty store."""
    return load_all_secrets(path)[0]


def load_shared_secrets(path: Path | None = None) -> dict[str, SharedSecret]:
    """Every shared-secret entry (`key: {secret: ...}`) of the secrets file."""
    return load_all_secrets(path)[1]


def load_all_secrets(
    path: Path | None = None,
) -> tuple[dict[str, Credentials], dict[str, SharedSecret]]:
    """Both kinds of entry at once: (credentials, shared secrets)."""
    path = path or secrets_path()
    if not path.exists():
        return {}, {}
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SecretsError(f"{path}: cannot read the secrets file ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError(
            f"{path}: the secrets file is open to other users (mode {stat.S_IMODE(mode):03o}); "
            f"it is not used until only its owner can read it: chmod 600 {path}"
        )
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretsError(f"{path}: cannot read the secrets file ({exc})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        # where, never what: the YAML error's own text quotes the line, password included
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SecretsError(f"{path}: cannot read the secrets file ({problem}{where})") from None
    if not isinstance(data, dict):
        raise SecretsError(f"{path}: expected a mapping of keys to credentials")
    found: dict[str, Credentials] = {}
    shared: dict[str, SharedSecret] = {}
    for key, entry in data.items():
        if isinstance(entry, dict) and set(entry) == {"secret"}:
            shared[str(key)] = SharedSecret(str(entry["secret"]))
            continue
        if not isinstance(entry, dict) or set(entry) != {"username", "password"}:
            raise SecretsError(
                f"{path}: {key}: needs exactly username and password (credentials), "
                "or secret (a shared secret)"
            )
        found[str(key)] = Credentials(str(entry["username"]), str(entry["password"]))
    return found, shared


def with_credentials(url: str, credentials: Credentials) -> str:
    """The URL with user and password inserted (percent-encoded)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(credentials.username, safe="")
    password = quote(credentials.password, safe="")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
