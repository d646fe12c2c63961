"""Camera credentials: kept in the secrets file, inserted into stream URLs, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.runtime import camera_specs
from console.secrets import Credentials, SecretsError, load_secrets, with_credentials
from console.site_file import load_site
from inference.sources import mask_credentials

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"


def test_secrets_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text('cam-east: {username: viewer, password: "p@ss/word"}\n')
    path.chmod(0o600)
    assert load_secrets(path) == {"cam-east": Credentials("viewer", "p@ss/word")}
    assert "p@ss" not in repr(load_secrets(path)["cam-east"])


def test_absent_secrets_file_is_an_empty_store(tmp_path: Path) -> None:
    assert load_secrets(tmp_path / "none.yaml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cam-east: [viewer, secret]\n", "cam-east: needs exactly username and password"),
        ("cam-east: {username: viewer}\n", "cam-east: needs exactly username and password"),
        ("- a\n- b\n", "expected a mapping of keys to credentials"),
        ("cam-east: {username: [\n", "cannot read the secrets file"),
    ],
)
def test_malformed_secrets_name_the_file_and_the_key(tmp_path: Path, text, message) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(SecretsError, match=message) as caught:
        load_secrets(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_a_secrets_file_open_to_other_users_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("cam-east: {username: viewer, password: s3cret}\n")
    path.chmod(mode)
    with pytest.raises(SecretsError) as caught:
        load_secrets(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: the secrets file is open to other users (mode {mode:03o})")
    assert message.endswith(f"chmod 600 {path}")
    assert "s3cret" not in message
    path.chmod(0o600)  # the fix the message names
    assert load_secrets(path)["cam-east"].password == "s3cret"


def test_a_refused_secrets_file_stops_the_site_with_the_fix(tmp_path: Path, monkeypatch) -> None:
    from console.runtime import SiteRunError

    path = tmp_path / "secrets.yaml"
    path.write_text("cam-east: {username: viewer, password: s3cret}\n")
    path.chmod(0o644)
    monkeypatch.setenv("NIGHTWATCH_SECRETS", str(path))
    with pytest.raises(SiteRunError, match=r"chmod 600"):
        camera_specs(load_site(SITE))


def test_a_yaml_error_in_the_secrets_file_does_not_quote_the_password(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text('cam-east: {username: viewer, password: "hunter2\n')  # quote left open
    path.chmod(0o600)
    with pytest.raises(SecretsError, match=r"cannot read the secrets file \(.* at line") as caught:
        load_secrets(path)
    assert "hunter2" not in str(caught.value)


def test_credentials_go_into_the_url_encoded_and_are_masked_when_shown() -> None:
    url = with_credentials("rtsp://cam-east.museum.example:554/stream1", Credentials("v", "a@b/c"))
    assert url == "rtsp://v:a%40b%2Fc@cam-east.museum.example:554/stream1"
    assert "a%40b" not in mask_credentials(url)


def test_site_cameras_get_their_credentials(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("cam-east: {username: viewer, password: s3cret}\n")
    path.chmod(0o600)
    monkeypatch.setenv("NIGHTWATCH_SECRETS", str(path))
    specs = {spec.camera_id: spec for spec in camera_specs(load_site(SITE))}
    east = specs["cam-east"]
    assert east.source == "rtsp://viewer:s3cret@cam-east.museum.example/stream2"  # sub-stream
    assert east.main_source == "rtsp://viewer:s3cret@cam-east.museum.example/stream1"
    # cam-west names credentials the store does not have: it is tried without
    assert specs["cam-west"].source == "rtsp://cam-west.museum.example/stream1"
