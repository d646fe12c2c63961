"""The weights registry and `nightwatch models`: a .pt (a pickle) comes in only with a hash that
vouches for it; what is installed is listed with its hash and trust."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from inference import models

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def vendor_pt(tmp_path) -> tuple[Path, str]:
    """A .pt file from a vendor (its bytes are only hashed and copied, never unpickled here)."""
    path = tmp_path / "vendor" / "museum-people.pt"
    path.parent.mkdir()
    path.write_bytes(b"\x80\x04 pretend pickle of a fine-tuned person model " * 100)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_models_dir_follows_the_environment(models_dir):
    assert models.models_dir() == models_dir


def test_unknown_pt_is_refused_naming_the_file_and_its_hash(models_dir, vendor_pt):
    path, digest = vendor_pt
    with pytest.raises(models.WeightsRefused) as err:
        models.import_weights(path)
    assert str(path) in str(err.value)
    assert digest in str(err.value)
    assert "--sha256" in str(err.value)
    assert models.installed() == []


def test_pt_with_the_vendor_hash_is_imported_and_listed(models_dir, vendor_pt):
    path, digest = vendor_pt
    installed = models.import_weights(path, sha256=digest.upper())
    assert installed.path == models_dir / "museum-people.pt"
    assert installed.path.read_bytes() == path.read_bytes()
    assert (installed.sha256, installed.trusted, installed.known) == (digest, True, False)

    [listed] = models.installed()
    assert listed.name == "museum-people.pt"
    assert listed.size == path.stat().st_size
    assert listed.sha256 == digest
    assert listed.trusted
    assert "given at import" in listed.provenance
    manifest = json.loads((models_dir / models.MANIFEST_NAME).read_text())
    assert manifest["files"]["museum-people.pt"]["sha256"] == digest


def test_pt_with_a_wrong_hash_is_refused(models_dir, vendor_pt):
    path, digest = vendor_pt
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(models.WeightsRefused, match="does not match") as err:
        models.import_weights(path, sha256=wrong)
    assert digest in str(err.value)
    assert wrong in str(err.value)
    assert not (models_dir / path.name).exists()


def test_a_malformed_hash_is_an_error(models_dir, vendor_pt):
    path, _ = vendor_pt
    with pytest.raises(ValueError, match="64 hex"):
        models.import_weights(path, sha256="abc123")


def test_a_pinned_release_needs_no_hash(models_dir, vendor_pt, monkeypatch):
    path, digest = vendor_pt
    pin = models.PinnedWeights("museum-people.pt", digest, path.stat().st_size, "test", "test")
    monkeypatch.setattr(models, "pinned_weights", lambda: (pin,))
    installed = models.import_weights(path)
    assert installed.known
    assert installed.trusted
    assert installed.provenance.startswith("pinned release")


def test_onnx_is_imported_with_its_hash_and_a_later_change_shows(models_dir, tmp_path):
    path = tmp_path / "people.onnx"
    path.write_bytes(b"onnx protobuf bytes" * 50)
    installed = models.import_weights(path)
    assert installed.trusted
    assert not installed.known
    assert installed.format == "onnx"

    installed.path.write_bytes(b"swapped on disk")
    [listed] = models.installed()
    assert not listed.trusted
    assert "CHANGED" in listed.provenance


def test_a_pt_dropped_into_the_folder_by_hand_is_not_trusted(models_dir, vendor_pt):
    path, _ = vendor_pt
    models_dir.mkdir()
    (models_dir / "dropped.pt").write_bytes(path.read_bytes())
    (models_dir / "notes.txt").write_text("not weights")
    [listed] = models.installed()
    assert listed.name == "dropped.pt"
    assert not listed.trusted


def test_import_does_not_overwrite_different_weights_of_the_same_name(models_dir, vendor_pt):
    path, digest = vendor_pt
    models.import_weights(path, sha256=digest)
    models.import_weights(path, sha256=digest)  # same bytes again: fine
    other = path.parent / "other" / path.name
    other.parent.mkdir()
    other.write_bytes(b"different model")
    other_digest = hashlib.sha256(other.read_bytes()).hexdigest()
    with pytest.raises(models.WeightsRefused, match="already exists"):
        models.import_weights(other, sha256=other_digest)
    assert models.installed()[0].sha256 == digest


def test_unsupported_format_and_missing_file(models_dir, tmp_path):
    odd = tmp_path / "model.h5"
    odd.write_bytes(b"keras")
    with pytest.raises(models.WeightsRefused, match="unsupported"):
        models.import_weights(odd)
    with pytest.raises(FileNotFoundError):
        models.import_weights(tmp_path / "absent.pt")


def test_resolve_weights(models_dir, tmp_path):
    assert models.resolve_weights("yolo11n.pt") is None
    models_dir.mkdir()
    (models_dir / "yolo11n.onnx").write_bytes(b"x")
    assert models.resolve_weights("yolo11n.onnx") == models_dir / "yolo11n.onnx"
    assert models.resolve_weights("yolo11n") == models_dir / "yolo11n.onnx"
    assert models.resolve_weights("yolo11n.pt") is None
    elsewhere = tmp_path / "elsewhere.engine"
    elsewhere.write_bytes(b"y")
    assert models.resolve_weights(elsewhere) == elsewhere
    assert models.resolve_weights(tmp_path / "nowhere" / "yolo11n.onnx") is None


def test_pinned_list_is_well_formed():
    pins = models.pinned_weights()
    assert {p.name for p in pins} >= {"yolo11n.pt", "yolo11s.pt", "yolov8n.pt"}
    for pin in pins:
        assert models.normalise_sha256(pin.sha256) == pin.sha256
        assert pin.size > 1_000_000
        assert pin.source.strip()
    assert len({p.sha256 for p in pins}) == len(pins)


# -- the command line ------------------------------------------------------------------------


def test_cli_lists_an_empty_folder(models_dir, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert str(models_dir) in out
    assert "no weights installed" in out


def test_cli_refuses_an_unknown_pt(models_dir, vendor_pt, capsys):
    path, digest = vendor_pt
    assert main(["models", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert path.name in err
    assert digest in err
    assert models.installed() == []


def test_cli_imports_with_the_vendor_hash_then_lists_it(models_dir, vendor_pt, capsys):
    path, digest = vendor_pt
    assert main(["models", "import", str(path), "--sha256", digest]) == 0
    assert "imported museum-people.pt" in capsys.readouterr().out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("museum-people.pt"))
    assert digest[:12] in row
    assert "yes" in row


def test_cli_wrong_hash_and_missing_file_exit_1(models_dir, vendor_pt, tmp_path, capsys):
    path, _ = vendor_pt
    assert main(["models", "import", str(path), "--sha256", "f" * 64]) == 1
    assert "does not match" in capsys.readouterr().err
    assert main(["models", "import", str(tmp_path / "absent.onnx")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["models", "import", str(path), "--sha256", "xyz"]) == 1
    assert "64 hex" in capsys.readouterr().err


def test_nightwatch_models_runs_without_torch(models_dir):
    code = (
        "import sys; from console.cli import main; rc = main(['models']); "
        "assert 'torch' not in sys.modules and 'ultralytics' not in sys.modules, 'torch imported'; "
        "sys.exit(rc)"
    )
    env = {**os.environ, models.MODELS_DIR_ENV: str(models_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
