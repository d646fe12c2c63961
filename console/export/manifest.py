"""An export's manifest, signed: `manifest.json` (each file's SHA-256 and size, row counts,
filters, the audit chain's head at export time, who exported and when, from which console,
the public key), `manifest.sig` (Ed25519 over manifest.json's exact bytes, base64) and
`public_key.pem`. `console.export.verify` checks all three, offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from console.export.verify import FORMAT, MANIFEST, OWN_FILES, PUBLIC_KEY, SIGNATURE, file_sha256
from console.store.keys import AuditKeys, b64
from console.store.tasks import canonical_json


def listed_files(out_dir: Path) -> list[dict[str, Any]]:
    """Every file in the export (but the manifest's own), sorted, with SHA-256 and size."""
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(out_dir).as_posix()
        if relative in OWN_FILES:
            continue
        files.append({"path": relative, "sha256": file_sha256(path), "size": path.stat().st_size})
    return files


def write_manifest(out_dir: Path, keys: AuditKeys, facts: dict[str, Any]) -> str:
    """Write and sign the manifest; returns the SHA-256 of manifest.json."""
    document = {
        "format": FORMAT,
        **facts,
        "public_key": {"fingerprint": keys.fingerprint, "pem": keys.public_pem.decode("ascii")},
        "files": listed_files(out_dir),
    }
    # canonical values (times, enums as text), laid out for people: the bytes signed are the file's
    values = json.loads(canonical_json(document))
    pretty = json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    data = pretty.encode("utf-8")
    (out_dir / MANIFEST).write_bytes(data)
    (out_dir / SIGNATURE).write_text(b64(keys.sign(data)) + "\n", encoding="ascii")
    (out_dir / PUBLIC_KEY).write_bytes(keys.public_pem)
    return hashlib.sha256(data).hexdigest()
