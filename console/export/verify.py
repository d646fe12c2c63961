"""Checking an export offline, on any machine: `nightwatch verify EXPORT_DIR`.

This module imports only the standard library and `cryptography` (no store, no Qt, nothing else
of Nightwatch), so an auditor can check an export with it alone.

An export folder holds its files, `manifest.json` (each file's path, SHA-256 and size, row
counts, filters, the audit chain's head, who exported it and when, the signing key), its
Ed25519 signature `manifest.sig` (base64 of the signature over manifest.json's exact bytes) and
`public_key.pem`. Verify checks the signature, then every file listed (missing, altered, size),
then every file present but not listed (added); a listed file missing while an unlisted one has
its SHA-256 is named as renamed. Without `--public-key`, it says which key signed and that its
fingerprint must be compared with the console's (`nightwatch audit public-key`): anyone can
sign a forged export with a key of their own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
OWN_FILES = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
FORMAT = "nightwatch-export/1"


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key in 16 groups of 4 hex digits (as the console shows it)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class FileProblem:
    path: str
    kind: str  # altered | missing | added | renamed | size | signature | manifest | key
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class ExportVerification:
    folder: Path
    problems: list[FileProblem] = field(default_factory=list)
    files_checked: int = 0
    signer_fingerprint: str | None = None
    key_given: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def derived_clips(self) -> list[dict[str, Any]]:
        """The manifest's derived (blurred) clips: path, original_sha256, how."""
        derived = self.manifest.get("derived")
        clips = derived.get("clips") if isinstance(derived, dict) else None
        return [c for c in clips if isinstance(c, dict)] if isinstance(clips, list) else []

    def lines(self) -> list[str]:
        out: list[str] = []
        m = self.manifest
        if self.ok:
            head = m.get("audit_head", {})
            out.append(
                f"ok: {self.folder}: signature good, {self.files_checked} file(s) as signed; "
                f"exported by {m.get('exported_by')} at {m.get('exported_at')} from "
                f"{m.get('site', {}).get('name')} (audit chain head seq {head.get('seq')})"
            )
        else:
            out.append(f"FAILED: {self.folder}: {len(self.problems)} problem(s)")
            out.extend(f"  [{p.kind}] {p.message}" for p in self.problems)
        derived = self.derived_clips
        if self.ok and derived:
            out.append(
                f"{len(derived)} clip(s) are derived copies (people blurred for this export), "
                "checked as signed; the SHA-256 of each original is in manifest.json under "
                '"derived": compare it with the console\'s (nightwatch audit verify checks the '
                "originals against its audit chain)"
            )
        if self.signer_fingerprint is not None:
            if self.key_given:
                out.append(f"signed by the key given: {self.signer_fingerprint}")
            else:
                out.append(
                    f"signed by the key {self.signer_fingerprint} (from {PUBLIC_KEY} in the "
                    "export itself): compare it with the console's own (nightwatch audit "
                    "public-key), or pass --public-key; a forger could sign with a key of their "
                    "own"
                )
        return out


def _load_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{where}: an Ed25519 public key is expected")
    return key


def verify_export(folder: Path, public_key: Path | None = None) -> ExportVerification:
    """Check an export folder; every problem names the file and what is wrong with it."""
    result = ExportVerification(folder=folder, key_given=public_key is not None)
    problems = result.problems
    if not folder.is_dir():
        problems.append(FileProblem(str(folder), "missing", f"{folder}: no export folder there"))
        return result
    manifest_path = folder / MANIFEST
    try:
        manifest_bytes = manifest_path.read_bytes()
    except OSError as exc:
        problems.append(
            FileProblem(MANIFEST, "missing", f"{MANIFEST}: cannot be read ({exc.strerror})")
        )
        return result
    # -- the signing key
    key_source = public_key if public_key is not None else folder / PUBLIC_KEY
    try:
        key = _load_public_key(key_source.read_bytes(), str(key_source))
    except (OSError, ValueError) as exc:
        problems.append(FileProblem(PUBLIC_KEY, "key", f"{key_source}: {exc}"))
        return result
    result.signer_fingerprint = key_fingerprint(key)
    # -- the signature
    try:
        signature = base64.b64decode((folder / SIGNATURE).read_bytes().strip(), validate=True)
    except (OSError, ValueError, binascii.Error) as exc:
        problems.append(
            FileProblem(SIGNATURE, "signature", f"{SIGNATURE}: missing or unreadable ({exc})")
        )
        return result
    try:
        key.verify(signature, manifest_bytes)
    except InvalidSignature:
        who = "the key given" if public_key is not None else f"the key in {PUBLIC_KEY}"
        problems.append(
            FileProblem(
                MANIFEST,
                "signature",
                f"{MANIFEST}: the signature does not verify with {who}: the manifest was "
                "altered, or signed by another key; none of its file hashes can be trusted",
            )
        )
        return result
    try:
        manifest = json.loads(manifest_bytes)
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(FileProblem(MANIFEST, "manifest", f"{MANIFEST}: unreadable ({exc})"))
        return result
    result.manifest = manifest
    if manifest.get("format") != FORMAT:
        problems.append(
            FileProblem(
                MANIFEST,
                "manifest",
                f"{MANIFEST}: format {manifest.get('format')!r}, this verifier reads {FORMAT}",
            )
        )
    if public_key is None:
        claimed = manifest.get("public_key", {}).get("fingerprint")
        if claimed is not None and claimed != result.signer_fingerprint:
            problems.append(
                FileProblem(
                    PUBLIC_KEY,
                    "key",
                    f"{PUBLIC_KEY}: its fingerprint {result.signer_fingerprint} is not the one "
                    f"the manifest names ({claimed})",
                )
            )
    for entry in result.derived_clips:
        path = str(entry.get("path"))
        if path not in listed or len(str(entry.get("original_sha256", ""))) != 64:
            problems.append(
                FileProblem(
                    path,
                    "manifest",
                    f"{MANIFEST}: the derived clip {path} is not a listed file with its "
                    "original's SHA-256",
                )
            )
    # -- the files
    present = _files_in(folder)
    missing: dict[str, str] = {}
    for path, (sha, size) in sorted(listed.items()):
        target = folder / path
        if path not in present:
            missing[path] = sha
            continue
        result.files_checked += 1
        actual_size = target.stat().st_size
        actual = file_sha256(target)
        if actual != sha:
            change = f"{actual_size - size:+d} bytes" if actual_size != size else "same size"
            problems.append(
                FileProblem(
                    path,
                    "altered",
                    f"{path}: altered (its SHA-256 is {actual[:16]}…, the manifest says "
                    f"{sha[:16]}…; {change})",
                )
            )
    added = sorted(present - set(listed) - OWN_FILES)
    by_hash: dict[str, str] = {}
    for path in added:
        by_hash.setdefault(file_sha256(folder / path), path)
    for path, sha in sorted(missing.items()):
        renamed_to = by_hash.pop(sha, None)
        if renamed_to is not None:
            added.remove(renamed_to)
            problems.append(
                FileProblem(path, "renamed", f"{path}: renamed to {renamed_to} (same content)")
            )
        else:
            problems.append(FileProblem(path, "missing", f"{path}: missing (deleted)"))
    for path in added:
        problems.append(FileProblem(path, "added", f"{path}: added (not in the signed manifest)"))
    problems.sort(key=lambda p: (p.path, p.kind))
    return result


def _files_in(folder: Path) -> set[str]:
    found: set[str] = set()
    for root, _dirs, names in os.walk(folder):
        for name in names:
            full = Path(root) / name
            found.add(full.relative_to(folder).as_posix())
    return found
