"""The weights registry: which detector weights are installed here, and which may be loaded.

Weights live in one folder, the models dir (`$NIGHTWATCH_MODELS_DIR`, else the platform's user
data dir `nightwatch/models`). A supervisor brings files in with `nightwatch models import PATH`.

A PyTorch `.pt` file is a Python pickle: loading it runs whatever code it carries. So a `.pt` is
imported, and later loaded, only when its SHA-256 is one of Ultralytics' released files pinned in
`pinned_weights.json`, or the hash the supervisor passed at import (`--sha256`, the hash the vendor
published), which the registry records in the folder's `manifest.json`. ONNX and TensorRT files
are not pickles: they are imported as they are, their hash recorded so a later change shows.

No torch here: `nightwatch models` and `nightwatch check` run without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

MODELS_DIR_ENV = "NIGHTWATCH_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
PICKLE_SUFFIXES = frozenset({".pt", ".pth"})
WEIGHT_SUFFIXES = frozenset({".pt", ".onnx", ".engine"})
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class WeightsRefused(ValueError):
    """A weights file cannot be imported or loaded; the message names the file and says why."""


@dataclass(frozen=True, slots=True)
class PinnedWeights:
    """One released weights file Nightwatch trusts by its hash."""

    name: str
    sha256: str
    size: int
    release: str
    source: str


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One weights file in the models dir.

    `known`: its hash is a pinned Ultralytics release. `trusted`: it may be loaded (known, or its
    hash was vouched for at import, or it is not a pickle and unchanged since import).
    """

    name: str
    path: Path
    size: int
    sha256: str
    known: bool
    trusted: bool
    provenance: str  # e.g. "pinned release yolo11n.pt", "sha256 given at import", "unverified"

    @property
    def format(self) -> str:
        return self.path.suffix.lstrip(".").lower()


def models_dir() -> Path:
    """The folder that holds imported weights (not created here)."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("nightwatch")) / "models"


@cache
def pinned_weights() -> tuple[PinnedWeights, ...]:
    """The released weights whose hashes ship with Nightwatch (`inference/pinned_weights.json`)."""
    text = resources.files("inference").joinpath("pinned_weights.json").read_text("utf-8")
    rows = json.loads(text)["weights"]
    return tuple(
        PinnedWeights(
            name=row["name"],
            sha256=row["sha256"].lower(),
            size=int(row["size"]),
            release=row["release"],
            source=row["source"],
        )
        for row in rows
    )


def pinned_for(sha256: str) -> PinnedWeights | None:
    """The pinned release with this hash, if any."""
    digest = sha256.lower()
    return next((p for p in pinned_weights() if p.sha256 == digest), None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_sha256(value: str) -> str:
    """A hex SHA-256 in lower case; `ValueError` naming the value when it is not one."""
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text.removeprefix("sha256:")
    if not _SHA256_RE.fullmatch(text):
        raise ValueError(f"not a SHA-256 (64 hex digits): {value!r}")
    return text


def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("models manifest %s unreadable (%s); all files unverified", path, exc)
        return {}
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {str(k): v for k, v in files.items() if isinstance(v, dict)}


def _write_manifest(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    path = folder / MANIFEST_NAME
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump({"version": 1, "files": files}, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.replace(tmp, path)


def _describe(path: Path, manifest: dict[str, dict[str, Any]]) -> ModelFile:
    sha = file_sha256(path)
    pinned = pinned_for(sha)
    entry = manifest.get(path.name, {})
    recorded = entry.get("sha256")
    if pinned is not None:
        trusted, provenance = True, f"pinned release {pinned.name} ({pinned.release})"
    elif recorded == sha:
        trusted, provenance = True, str(entry.get("vouched", "recorded at import"))
    elif recorded is not None:
        trusted, provenance = False, f"CHANGED since import (recorded sha256 {recorded[:12]}…)"
    elif path.suffix.lower() not in PICKLE_SUFFIXES:
        trusted, provenance = True, "not a pickle; not imported through the registry"
    else:
        trusted, provenance = False, "unverified pickle: import it with its published --sha256"
    return ModelFile(
        name=path.name,
        path=path,
        size=path.stat().st_size,
        sha256=sha,
        known=pinned is not None,
        trusted=trusted,
        provenance=provenance,
    )


def describe(path: str | Path) -> ModelFile:
    """Hash and trust of one weights file, in the models dir or anywhere else."""
    path = Path(path)
    folder = models_dir()
    in_folder = path.resolve().parent == folder.resolve()
    return _describe(path, _read_manifest(folder) if in_folder else {})


def installed() -> list[ModelFile]:
    """Every weights file (.pt, .onnx, .engine) in the models dir, by name."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    manifest = _read_manifest(folder)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES
    )
    return [_describe(p, manifest) for p in files]


def import_weights(path: str | Path, *, sha256: str | None = None) -> ModelFile:
    """Copy a weights file into the models dir, if it may be trusted; return what was installed.

    A `.pt` (a pickle) needs its hash pinned, or equal to `sha256` (the hash its vendor published).
    `.onnx`/`.engine` files are imported with their hash recorded. Raises `WeightsRefused` (names
    the file and its hash) or `FileNotFoundError`.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"weights file not found: {source}")
    suffix = source.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        allowed = ", ".join(sorted(WEIGHT_SUFFIXES))
        raise WeightsRefused(f"{source}: unsupported weights format {suffix!r} (use {allowed})")
    expected = normalise_sha256(sha256) if sha256 is not None else None
    actual = file_sha256(source)
    if expected is not None and actual != expected:
        raise WeightsRefused(
            f"{source}: sha256 {actual} does not match the given --sha256 {expected}; "
            "the file is not the one its vendor published (or the hash was mistyped). Not imported."
        )
    pinned = pinned_for(actual)
    if pinned is not None:
        vouched = f"pinned release {pinned.name} ({pinned.release})"
    elif expected is not None:
        vouched = "sha256 given at import"
    elif suffix in PICKLE_SUFFIXES:
        raise WeightsRefused(
            f"{source}: sha256 {actual} is not a known Ultralytics release. A .pt file is a "
            "pickle that runs code when loaded, so it is only imported with the hash its vendor "
            "published: "
            f"`nightwatch models import {source} --sha256 HEX`. Not imported."
        )
    else:
        vouched = f"{suffix.lstrip('.')} file, hash recorded at import"

    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    manifest = _read_manifest(folder)
    if target.exists():
        existing = file_sha256(target)
        if existing != actual:
            raise WeightsRefused(
                f"{target} already exists with a different sha256 ({existing}); "
                f"remove it first to replace it with {source} ({actual})"
            )
        log.info("weights %s already installed (sha256 %s)", target.name, actual[:12])
    else:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{source.name}-", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(source, tmp)
            copied = file_sha256(tmp)
            if copied != actual:
                raise WeightsRefused(f"{source}: changed while it was copied; not imported")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("imported weights %s (sha256 %s, %s)", target.name, actual[:12], vouched)
    manifest[target.name] = {
        "sha256": actual,
        "vouched": vouched,
        "imported_from": str(source.resolve()),
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_manifest(folder, manifest)
    return _describe(target, manifest)


def resolve_weights(name_or_path: str | Path) -> Path | None:
    """Where the weights `name_or_path` are on disk, or None.

    An existing file path is returned as it is; a bare name ("yolo11n.pt", or "yolo11n" for the
    first of .pt, .onnx, .engine found) is looked up in the models dir. Nothing is downloaded.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.name != str(name_or_path):  # a path with folders that does not exist
        return None
    folder = models_dir()
    if (folder / candidate.name).is_file():
        return folder / candidate.name
    if not candidate.suffix:
        for suffix in (".pt", ".onnx", ".engine"):
            path = folder / f"{candidate.name}{suffix}"
            if path.is_file():
                return path
    return None
