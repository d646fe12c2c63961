"""The model registry: which detector model files are here, and which a supervisor trusts.

Loading a model file can run code:

- a PyTorch `.pt`/`.pth` is a Python pickle: unpickling it runs whatever it carries;
- a model YAML (`yolo11n.yaml`) is turned into a network by ultralytics, which evaluates some
  of its fields with `eval()` (the `activation` line, in ultralytics 8.4);
- a TensorRT `.engine` is native code and data that TensorRT deserializes; engines can embed
  plugins and host code, and NVIDIA says to deserialize engines only from trusted sources;
- an ONNX file runs no Python in onnxruntime (custom operators need a library that Nightwatch
  never registers), but it is parsed by native code and ultralytics reads its metadata.

So one rule covers every model file the YOLO backend loads, whatever its format: it is loaded
only when its SHA-256 is in a pin list, with the pin's source, and never on the strength of a
hash given at load time (anyone can compute a file's own hash). The pin lists:

- `inference/pinned_weights.json`, shipped: Ultralytics' released weights (hashes as published
  by their sources) and the model YAMLs of the ultralytics release Nightwatch is tested with;
- `trusted.json` in the models dir: the supervisor's pins, each with the sha256, a name, the
  source or reference it was checked against, who added it and when. Managed with
  `nightwatch models trust SHA256 --source "URL or reference"` and `nightwatch models untrust`.

The check is made on the bytes that are loaded: `VerifiedCopy` reads the file once, hashes those
bytes, and writes them to a private folder (mode 0700) that the loader reads; a file swapped
between the check and the load is never the one loaded.

Model files live in one folder, the models dir (`$NIGHTWATCH_MODELS_DIR`, else the platform's
user data dir `nightwatch/models`); `nightwatch models import PATH [--sha256 HEX]` copies a file
in (refusing it when it does not have the hash given) and records where it came from in
`manifest.json`. Importing does not trust a file: pinning does.

No torch here: `nightwatch models` and `nightwatch check` run without it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

MODELS_DIR_ENV = "NIGHTWATCH_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
PINS_NAME = "trusted.json"
SHIPPED_PINS = "inference/pinned_weights.json"
PICKLE_SUFFIXES = frozenset({".pt", ".pth"})
WEIGHT_SUFFIXES = frozenset({".pt", ".onnx", ".engine"})
MODEL_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
MODEL_SUFFIXES = WEIGHT_SUFFIXES | MODEL_YAML_SUFFIXES
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SCALE = re.compile(r"(\d+)([nslmx])(.+)?$")  # yolo11n.yaml -> yolo11.yaml, as ultralytics does


class WeightsRefused(ValueError):
    """A model file cannot be imported or loaded; the message names the file and says why."""


class PinListError(ValueError):
    """A pin list cannot be read or changed; the message names the file, the field and value."""


@dataclass(frozen=True, slots=True)
class Pin:
    """One model file trusted by its SHA-256, with where that hash was checked."""

    sha256: str
    name: str
    source: str  # URL or reference the hash was checked against
    added_by: str
    added_at: str  # ISO date or date-time
    pin_list: str  # "shipped" or the path of the supervisor's pin list
    size: int | None = None
    release: str = ""

    @property
    def shipped(self) -> bool:
        return self.pin_list == "shipped"

    def describe(self) -> str:
        where = "shipped pin" if self.shipped else "supervisor pin"
        return f"{where} {self.name} (added by {self.added_by} {self.added_at}; {self.source})"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One model file, in the models dir or elsewhere: its hash and the pin that trusts it."""

    name: str
    path: Path
    size: int
    sha256: str
    pin: Pin | None
    expected_sha256: str | None = None  # the hash the supervisor gave at import, if any

    @property
    def trusted(self) -> bool:
        return self.pin is not None

    @property
    def known(self) -> bool:
        """Pinned in the list shipped with Nightwatch (a released file)."""
        return self.pin is not None and self.pin.shipped

    @property
    def provenance(self) -> str:
        if self.pin is not None:
            return self.pin.describe()
        if self.expected_sha256 is not None and self.expected_sha256 != self.sha256:
            return (
                f"CHANGED since import (the supervisor expected sha256 "
                f"{self.expected_sha256[:12]}…); not pinned"
            )
        return f"not pinned: {trust_command(self.sha256)}"

    @property
    def format(self) -> str:
        return self.path.suffix.lstrip(".").lower()


def models_dir() -> Path:
    """The folder that holds imported model files (not created here)."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("nightwatch")) / "models"


def pins_file() -> Path:
    """The supervisor's pin list (in the models dir)."""
    return models_dir() / PINS_NAME


def trust_command(sha256: str) -> str:
    return f'nightwatch models trust {sha256} --source "URL or reference"'


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


# -- pin lists -------------------------------------------------------------------------------


def _pin_from_row(row: Any, where: str, index: int, pin_list: str) -> Pin:
    """One pin from a JSON row; `PinListError` naming the file, entry, field and value."""
    if not isinstance(row, dict):
        raise PinListError(f"{where}: pins[{index}] is not an object (got {row!r})")

    def text(field: str, required: bool = True) -> str:
        value = row.get(field, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise PinListError(f"{where}: pins[{index}].{field}: missing or empty (got {value!r})")
        return value.strip()

    try:
        sha = normalise_sha256(str(row.get("sha256", "")))
    except ValueError:
        raise PinListError(
            f"{where}: pins[{index}].sha256: not 64 hex digits (got {row.get('sha256')!r})"
        ) from None
    size = row.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise PinListError(f"{where}: pins[{index}].size: not a positive integer (got {size!r})")
    return Pin(
        sha256=sha,
        name=text("name"),
        source=text("source"),
        added_by=text("added_by"),
        added_at=text("added_at"),
        pin_list=pin_list,
        size=size,
        release=text("release", required=False),
    )


def _pins_from_json(text: str, where: str, pin_list: str) -> tuple[Pin, ...]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PinListError(f"{where}: not valid JSON ({exc})") from None
    rows = data.get("pins") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise PinListError(f"{where}: no 'pins' list at the top level")
    return tuple(_pin_from_row(row, where, i, pin_list) for i, row in enumerate(rows))


@cache
def shipped_pins() -> tuple[Pin, ...]:
    """The pins that ship with Nightwatch (`inference/pinned_weights.json`)."""
    text = resources.files("inference").joinpath("pinned_weights.json").read_text("utf-8")
    return _pins_from_json(text, SHIPPED_PINS, "shipped")


def supervisor_pins() -> tuple[Pin, ...]:
    """The supervisor's pins (`trusted.json` in the models dir); none when there is no file.

    A pin list that cannot be read raises `PinListError`: nothing is trusted from a list that
    may have been damaged or tampered with, and the error says which file and where."""
    path = pins_file()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise PinListError(f"{path}: cannot read the pin list ({exc})") from None
    return _pins_from_json(text, str(path), str(path))


def pins() -> tuple[Pin, ...]:
    """Every pin: shipped first, then the supervisor's."""
    return shipped_pins() + supervisor_pins()


def pin_for(sha256: str) -> Pin | None:
    """The pin with this hash (shipped first), if any."""
    digest = sha256.lower()
    return next((p for p in pins() if p.sha256 == digest), None)


def _write_pins(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trusted-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(
                {
                    "_about": (
                        "Model files this site's supervisors trust, by SHA-256 (see `nightwatch "
                        "models trust`). Nightwatch loads a model file only when its hash is "
                        "here or in the list it ships with."
                    ),
                    "pins": rows,
                },
                stream,
                indent=2,
            )
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _pin_row(pin: Pin) -> dict[str, Any]:
    return {
        "sha256": pin.sha256,
        "name": pin.name,
        "source": pin.source,
        "added_by": pin.added_by,
        "added_at": pin.added_at,
    }


def trust(sha256: str, *, source: str, name: str | None = None, added_by: str | None = None) -> Pin:
    """Add a supervisor pin: model files with this hash may be loaded from now on.

    `source` says where the hash was checked (the vendor's page, a release, a ticket) and is
    required. `name` defaults to the name of the file in the models dir with this hash, if one
    is there; otherwise it is required. A hash already pinned is left as it is (its pin is
    returned). Raises `ValueError` (bad hash, missing source or name) or `PinListError`.
    """
    digest = normalise_sha256(sha256)
    if not source or not source.strip():
        raise ValueError("a pin needs --source: the URL or reference the hash was checked against")
    existing = pin_for(digest)
    if existing is not None:
        return existing
    if not name:
        matching = [f.name for f in installed() if f.sha256 == digest]
        if not matching:
            raise ValueError(
                f"no file in {models_dir()} has sha256 {digest}; give the pin a name with --name"
            )
        name = matching[0]
    pin = Pin(
        sha256=digest,
        name=name.strip(),
        source=source.strip(),
        added_by=(added_by or _user()).strip(),
        added_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pin_list=str(pins_file()),
    )
    rows = [_pin_row(p) for p in supervisor_pins()] + [_pin_row(pin)]
    _write_pins(pins_file(), rows)
    log.warning(
        "model sha256 %s (%s) trusted by %s: %s", digest, pin.name, pin.added_by, pin.source
    )
    return pin


def untrust(sha256: str) -> Pin:
    """Remove a supervisor pin; model files with this hash are no longer loaded.

    Shipped pins cannot be removed here (they are part of the release). Raises `ValueError`
    when the hash is not pinned by a supervisor, `PinListError` for a damaged pin list."""
    digest = normalise_sha256(sha256)
    current = supervisor_pins()
    mine = next((p for p in current if p.sha256 == digest), None)
    if mine is None:
        shipped = next((p for p in shipped_pins() if p.sha256 == digest), None)
        if shipped is not None:
            raise ValueError(
                f"sha256 {digest} ({shipped.name}) is pinned in {SHIPPED_PINS}, which ships "
                "with Nightwatch; it cannot be untrusted from the command line"
            )
        raise ValueError(f"sha256 {digest} is not in the pin list {pins_file()}")
    _write_pins(pins_file(), [_pin_row(p) for p in current if p.sha256 != digest])
    log.warning("model sha256 %s (%s) no longer trusted", digest, mine.name)
    return mine


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


# -- the files -------------------------------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("models manifest %s unreadable (%s); import records ignored", path, exc)
        return {}
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {str(k): v for k, v in files.items() if isinstance(v, dict)}


def _write_manifest(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    path = folder / MANIFEST_NAME
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump({"version": 2, "files": files}, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.replace(tmp, path)


def _describe(path: Path, manifest: dict[str, dict[str, Any]]) -> ModelFile:
    sha = file_sha256(path)
    entry = manifest.get(path.name, {})
    expected = entry.get("expected_sha256") or entry.get("sha256")
    return ModelFile(
        name=path.name,
        path=path,
        size=path.stat().st_size,
        sha256=sha,
        pin=pin_for(sha),
        expected_sha256=expected if isinstance(expected, str) else None,
    )


def describe(path: str | Path) -> ModelFile:
    """Hash and pin of one model file, in the models dir or anywhere else."""
    path = Path(path)
    folder = models_dir()
    in_folder = path.resolve().parent == folder.resolve()
    return _describe(path, _read_manifest(folder) if in_folder else {})


def installed() -> list[ModelFile]:
    """Every model file (.pt, .onnx, .engine, .yaml) in the models dir, by name."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    manifest = _read_manifest(folder)
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES and p.name != PINS_NAME
    )
    return [_describe(p, manifest) for p in files]


def import_weights(path: str | Path, *, sha256: str | None = None) -> ModelFile:
    """Copy a model file into the models dir; return what was installed.

    `sha256` is the hash the supervisor expects (the one its vendor published): the import is
    refused when the file's differs, and the expected hash is recorded. Importing does not make
    a file loadable: its hash must be pinned (`trust`). Raises `WeightsRefused` (names the file
    and its hash) or `FileNotFoundError`.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"model file not found: {source}")
    suffix = source.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        allowed = ", ".join(sorted(MODEL_SUFFIXES))
        raise WeightsRefused(f"{source}: unsupported model format {suffix!r} (use {allowed})")
    expected = normalise_sha256(sha256) if sha256 is not None else None
    actual = file_sha256(source)
    if expected is not None and actual != expected:
        raise WeightsRefused(
            f"{source}: sha256 {actual} does not match the given --sha256 {expected}; "
            "the file is not the one its vendor published (or the hash was mistyped). Not imported."
        )

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
        log.info("model file %s already installed (sha256 %s)", target.name, actual[:12])
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
        log.info("imported model file %s (sha256 %s)", target.name, actual[:12])
    manifest[target.name] = {
        "sha256": actual,
        "expected_sha256": expected,
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


def ultralytics_model_yamls() -> Path | None:
    """The folder of model YAMLs inside the installed ultralytics package (not imported)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models"
    return folder if folder.is_dir() else None


def resolve_model_yaml(name_or_path: str | Path) -> Path | None:
    """The model definition file a YAML name means, or None.

    A path with a folder ("./custom.yaml", "/srv/models/x.yaml") is that file. A bare name is
    looked up in the models dir, then among the model YAMLs of the installed ultralytics package,
    where "yolo11n.yaml" (scale n) is defined by "yolo11.yaml"; never in the current folder
    (ultralytics' own look-up prefers a file of that name there, so a stray YAML would win).
    Whatever is found is still loaded only if pinned.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.name != str(name_or_path):
        return candidate if candidate.is_file() else None
    local = models_dir() / candidate.name
    if local.is_file():
        return local
    folder = ultralytics_model_yamls()
    if folder is None:
        return None
    unified = _SCALE.sub(r"\1\3", candidate.stem) + candidate.suffix
    for wanted in dict.fromkeys((candidate.name, unified)):
        found = sorted(folder.rglob(wanted))
        if found:
            return found[0]
    return None


# -- loading ---------------------------------------------------------------------------------


def refusal(path: Path, sha256: str) -> str:
    """Why a model file is not loaded, and how a supervisor trusts it."""
    return (
        f"model file {path} (sha256 {sha256}) is not pinned: its hash is in neither "
        f"{SHIPPED_PINS} nor the supervisor's pin list {pins_file()}. Loading a model file can "
        "run code, so Nightwatch loads only pinned files. A supervisor who has checked this "
        f"file against its source pins it with: {trust_command(sha256)}"
    )


def verify(path: str | Path) -> tuple[bytes, Pin]:
    """The bytes of a model file and the pin that trusts them; `WeightsRefused` naming the file
    and its hash when none does. The file is read once: load these bytes, not the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsRefused(f"cannot read model file {path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    try:
        pin = pin_for(digest)
    except PinListError as exc:
        raise WeightsRefused(f"model file {path} not loaded: {exc}") from None
    if pin is None:
        raise WeightsRefused(refusal(path, digest))
    return data, pin


class VerifiedCopy:
    """A private copy of a pinned model file, made from the bytes that were hashed.

    The loader reads the copy, in a folder only this user can enter, so a model file replaced
    between the check and the load is never the one loaded. `name` names the copy (ultralytics
    reads the model scale from a YAML's name, e.g. "yolo11n.yaml" for the "yolo11.yaml" pinned).
    The folder is removed by `close()`, at garbage collection, or at exit.
    """

    def __init__(self, path: str | Path, *, name: str | None = None) -> None:
        self.source = Path(path)
        data, self.pin = verify(self.source)
        self.sha256 = self.pin.sha256
        self.folder = Path(tempfile.mkdtemp(prefix="nightwatch-model-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        self.path = self.folder / (name or self.source.name)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        log.info(
            "model file %s verified (sha256 %s, %s)",
            self.source,
            self.sha256[:12],
            self.pin.describe(),
        )

    def close(self) -> None:
        self._cleanup()

    def __enter__(self) -> VerifiedCopy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
