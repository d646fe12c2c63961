"""The model registry and `nightwatch models`: a model file is loaded only when its SHA-256 is in
a pin list (shipped, or the supervisor's), never because a hash was given at import or load;
the bytes loaded are the bytes hashed."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from inference import models

REPO = Path(__file__).resolve().parents[2]
SOURCE = "https://vendor.example/museum-people/releases/v2 (sha256 on the release page)"


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
    assert models.pins_file() == models_dir / "trusted.json"


# -- importing does not trust ----------------------------------------------------------------


def test_import_copies_the_file_but_does_not_trust_it(models_dir, vendor_pt):
    path, digest = vendor_pt
    installed = models.import_weights(path)
    assert installed.path == models_dir / "museum-people.pt"
    assert installed.path.read_bytes() == path.read_bytes()
    assert (installed.sha256, installed.trusted, installed.known) == (digest, False, False)
    assert installed.provenance == f"not pinned: {models.trust_command(digest)}"
    [listed] = models.installed()
    assert (listed.name, listed.size, listed.trusted) == (
        "museum-people.pt",
        path.stat().st_size,
        False,
    )


def test_a_hash_given_at_import_is_recorded_but_does_not_make_the_file_loadable(
    models_dir, vendor_pt
):
    path, digest = vendor_pt
    installed = models.import_weights(path, sha256=digest.upper())
    assert not installed.trusted
    manifest = json.loads((models_dir / models.MANIFEST_NAME).read_text())
    entry = manifest["files"]["museum-people.pt"]
    assert (entry["sha256"], entry["expected_sha256"]) == (digest, digest)
    with pytest.raises(models.WeightsRefused) as err:
        models.verify(installed.path)
    message = str(err.value)
    assert str(installed.path) in message
    assert digest in message
    assert "not pinned" in message
    assert models.trust_command(digest) in message


def test_import_with_a_wrong_hash_is_refused(models_dir, vendor_pt):
    path, digest = vendor_pt
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(models.WeightsRefused, match="does not match") as err:
        models.import_weights(path, sha256=wrong)
    assert digest in str(err.value)
    assert wrong in str(err.value)
    assert str(path) in str(err.value)
    assert not (models_dir / path.name).exists()


def test_a_malformed_hash_is_an_error(models_dir, vendor_pt):
    path, _ = vendor_pt
    with pytest.raises(ValueError, match="64 hex"):
        models.import_weights(path, sha256="abc123")
    with pytest.raises(ValueError, match="64 hex"):
        models.trust("abc123", source=SOURCE)


def test_a_file_changed_after_import_shows(models_dir, tmp_path):
    path = tmp_path / "people.onnx"
    path.write_bytes(b"onnx protobuf bytes" * 50)
    models.import_weights(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    (models_dir / "people.onnx").write_bytes(b"swapped on disk")
    [listed] = models.installed()
    assert not listed.trusted
    assert "CHANGED since import" in listed.provenance


def test_import_does_not_overwrite_different_weights_of_the_same_name(models_dir, vendor_pt):
    path, digest = vendor_pt
    models.import_weights(path, sha256=digest)
    models.import_weights(path, sha256=digest)  # same bytes again: fine
    other = path.parent / "other" / path.name
    other.parent.mkdir()
    other.write_bytes(b"different model")
    with pytest.raises(models.WeightsRefused, match="already exists"):
        models.import_weights(other)
    assert models.installed()[0].sha256 == digest


def test_unsupported_format_and_missing_file(models_dir, tmp_path):
    odd = tmp_path / "model.h5"
    odd.write_bytes(b"keras")
    with pytest.raises(models.WeightsRefused, match="unsupported"):
        models.import_weights(odd)
    with pytest.raises(FileNotFoundError):
        models.import_weights(tmp_path / "absent.pt")


# -- pins ------------------------------------------------------------------------------------


def test_a_supervisor_pin_trusts_the_file_and_records_who_when_and_where(models_dir, vendor_pt):
    path, digest = vendor_pt
    installed = models.import_weights(path, sha256=digest)
    pin = models.trust(digest, source=SOURCE, added_by="m.curator")
    assert (pin.sha256, pin.name, pin.source, pin.added_by) == (
        digest,
        "museum-people.pt",  # named after the installed file with that hash
        SOURCE,
        "m.curator",
    )
    assert pin.added_at.startswith("20")
    assert not pin.shipped
    [row] = json.loads(models.pins_file().read_text())["pins"]
    assert row == {
        "sha256": digest,
        "name": "museum-people.pt",
        "source": SOURCE,
        "added_by": "m.curator",
        "added_at": pin.added_at,
    }
    [listed] = models.installed()
    assert listed.trusted
    assert listed.pin == pin
    assert "supervisor pin museum-people.pt (added by m.curator" in listed.provenance
    data, verified_by = models.verify(installed.path)
    assert data == path.read_bytes()
    assert verified_by == pin


def test_trust_needs_a_source_and_a_name(models_dir, vendor_pt):
    _, digest = vendor_pt
    with pytest.raises(ValueError, match="--source"):
        models.trust(digest, source="  ")
    with pytest.raises(ValueError, match="--name"):
        models.trust(digest, source=SOURCE)  # no installed file with that hash to name it
    pin = models.trust(digest, source=SOURCE, name="museum-people v2")
    assert pin.name == "museum-people v2"
    assert pin.added_by  # the user name
    assert models.trust(digest, source="elsewhere") == pin, "pinning twice changes nothing"
    assert len(models.supervisor_pins()) == 1


def test_untrust_removes_the_pin_and_the_file_is_refused_again(models_dir, vendor_pt):
    path, digest = vendor_pt
    installed = models.import_weights(path)
    models.trust(digest, source=SOURCE)
    models.verify(installed.path)
    removed = models.untrust(digest)
    assert removed.sha256 == digest
    assert models.supervisor_pins() == ()
    with pytest.raises(models.WeightsRefused, match="not pinned"):
        models.verify(installed.path)
    with pytest.raises(ValueError, match="not in the pin list"):
        models.untrust(digest)


def test_a_shipped_pin_cannot_be_untrusted_from_the_command_line(models_dir):
    shipped = models.shipped_pins()[0]
    with pytest.raises(ValueError, match="ships with Nightwatch"):
        models.untrust(shipped.sha256)


def test_a_damaged_pin_list_trusts_nothing_and_says_where(models_dir, vendor_pt):
    path, digest = vendor_pt
    installed = models.import_weights(path)
    models.trust(digest, source=SOURCE)
    text = models.pins_file().read_text().replace(f'"{digest}"', '"not-a-hash"')
    models.pins_file().write_text(text)
    with pytest.raises(models.WeightsRefused) as err:
        models.verify(installed.path)
    assert str(models.pins_file()) in str(err.value)
    assert "pins[0].sha256" in str(err.value)
    assert "'not-a-hash'" in str(err.value)
    with pytest.raises(models.PinListError):
        models.trust(digest, source=SOURCE)  # never overwrites a list it cannot read
    assert "not-a-hash" in models.pins_file().read_text()


def test_shipped_pins_are_well_formed_and_name_their_sources():
    pins = models.shipped_pins()
    names = {p.name for p in pins}
    assert names >= {"yolo11n.pt", "yolo11s.pt", "yolov8n.pt", "yolo11.yaml", "yolov8.yaml"}
    for pin in pins:
        assert models.normalise_sha256(pin.sha256) == pin.sha256
        assert pin.shipped
        assert pin.source.strip()
        assert pin.added_by.strip()
        assert pin.added_at.strip()
        assert pin.size is not None
        assert pin.size > (1_000_000 if pin.name.endswith(".pt") else 0)
    assert len({p.sha256 for p in pins}) == len(pins)


# -- loading: the bytes checked are the bytes loaded -----------------------------------------


def test_verified_copy_holds_the_checked_bytes_even_if_the_file_is_swapped(models_dir, vendor_pt):
    path, digest = vendor_pt
    models.trust(digest, source=SOURCE, name="museum-people.pt")
    original = path.read_bytes()
    with models.VerifiedCopy(path) as copy:
        path.write_bytes(b"swapped after the check")  # between check and load
        assert copy.path != path
        assert copy.path.read_bytes() == original
        assert copy.sha256 == digest
        assert stat.S_IMODE(copy.folder.stat().st_mode) == 0o700
        folder = copy.folder
    assert not folder.exists(), "the private copy is removed"


def test_a_file_swapped_after_pinning_is_refused(models_dir, vendor_pt):
    path, digest = vendor_pt
    models.trust(digest, source=SOURCE, name="museum-people.pt")
    path.write_bytes(b"another model under the same name")
    swapped = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(models.WeightsRefused) as err:
        models.VerifiedCopy(path)
    assert str(path) in str(err.value)
    assert swapped in str(err.value)
    assert "not pinned" in str(err.value)


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


def test_a_model_yaml_name_means_the_pinned_file_of_the_installed_ultralytics(
    models_dir, tmp_path, monkeypatch
):
    """Never a stray file of that name in the current folder (ultralytics' own look-up would
    take it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yolo11.yaml").write_text("activation: whatever\n")
    (tmp_path / "yolo11n.yaml").write_text("activation: whatever\n")
    folder = models.ultralytics_model_yamls()
    assert folder is not None
    found = models.resolve_model_yaml("yolo11n.yaml")
    assert found == folder / "11" / "yolo11.yaml"
    _, pin = models.verify(found)  # pinned: fails when a new ultralytics changes the file
    assert pin.name == "yolo11.yaml"
    assert models.resolve_model_yaml("no-such-model.yaml") is None
    assert models.resolve_model_yaml("./yolo11n.yaml") == Path("yolo11n.yaml")  # a path: as said


# -- the command line ------------------------------------------------------------------------


def test_cli_lists_an_empty_folder(models_dir, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert str(models_dir) in out
    assert "no model files installed" in out


def test_cli_import_then_trust_then_untrust(models_dir, vendor_pt, capsys):
    path, digest = vendor_pt
    assert main(["models", "import", str(path), "--sha256", digest]) == 0
    out = capsys.readouterr().out
    assert "imported museum-people.pt" in out
    assert "NOT trusted" in out
    assert f'nightwatch models trust {digest} --source "URL or reference"' in out

    assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "museum-people" in line)
    assert digest[:12] in row
    assert "  NO  " in row

    assert main(["models", "trust", digest, "--source", SOURCE, "--by", "m.curator"]) == 0
    out = capsys.readouterr().out
    assert f"pinned sha256 {digest} as museum-people.pt" in out
    assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "museum-people" in line)
    assert "  yes  " in row
    assert "m.curator" in row

    assert main(["models", "pins"]) == 0
    out = capsys.readouterr().out
    assert f"{digest}  supervisor  museum-people.pt" in out
    assert SOURCE in out
    assert "yolo11n.pt" in out  # the shipped pins too

    assert main(["models", "untrust", digest]) == 0
    assert "removed the pin of museum-people.pt" in capsys.readouterr().out
    assert main(["models", "untrust", digest]) == 1
    assert "not in the pin list" in capsys.readouterr().err


def test_cli_trust_needs_a_source(models_dir, vendor_pt, capsys):
    _, digest = vendor_pt
    with pytest.raises(SystemExit):
        main(["models", "trust", digest])
    assert "--source" in capsys.readouterr().err
    assert not models.pins_file().exists()


def test_cli_errors_exit_1(models_dir, vendor_pt, tmp_path, capsys):
    path, _ = vendor_pt
    assert main(["models", "import", str(path), "--sha256", "f" * 64]) == 1
    assert "does not match" in capsys.readouterr().err
    assert main(["models", "import", str(tmp_path / "absent.onnx")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["models", "import", str(path), "--sha256", "xyz"]) == 1
    assert "64 hex" in capsys.readouterr().err
    assert main(["models", "trust", "xyz", "--source", SOURCE]) == 1
    assert "64 hex" in capsys.readouterr().err


def test_nightwatch_models_runs_without_torch(models_dir):
    code = (
        "import sys; from console.cli import main; rc = main(['models']); "
        "rc = rc or main(['models', 'pins']); "
        "assert 'torch' not in sys.modules and 'ultralytics' not in sys.modules, 'torch imported'; "
        "sys.exit(rc)"
    )
    env = {**os.environ, models.MODELS_DIR_ENV: str(models_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
