"""The setup command refuses to start a Python environment on a disk without room for it,
saying where, how much is free and how much it needs, before pip writes anything.

The real `packaging/bootstrap.sh` runs; two fakes stand in for the machine: a `df` that reports
the free space of a nearly full disk, and a `dpkg-query` that says every Debian package is
installed (so the setup never reaches apt-get here)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "packaging" / "bootstrap.sh"


def fake_tool(folder: Path, name: str, body: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


def run_setup(
    tmp_path: Path, mode: str, free_kib: int, python: str | None = None
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Run the real setup for a new environment in `tmp_path`, with a fake `df` that says
    `free_kib` are free on any folder and a fake `dpkg-query` that says every Debian package is
    installed (`python`: the interpreter the script is told to use). Returns the environment's
    folder and what the script did."""
    fakes = tmp_path / "fakes"
    fakes.mkdir(exist_ok=True)
    fake_tool(
        fakes,
        "df",
        'echo "Filesystem 1024-blocks Used Available Capacity Mounted on"\n'
        f'echo "/dev/vda 264212084 {264212084 - free_kib} {free_kib} 50% /"',
    )
    fake_tool(fakes, "dpkg-query", 'echo "install ok installed"')
    venv = tmp_path / "envs" / "nightwatch"
    venv.parent.mkdir()
    env = {**os.environ, "PATH": f"{fakes}{os.pathsep}{os.environ['PATH']}"}
    env["NIGHTWATCH_VENV"] = str(venv)
    if python is not None:
        env["PYTHON"] = python
    done = subprocess.run(
        ["bash", str(BOOTSTRAP), mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return venv, done


@pytest.mark.parametrize(("mode", "need"), [("setup", "7.5"), ("test", "8.5")])
def test_a_disk_without_room_for_the_environment_is_named_before_pip_starts(
    tmp_path: Path, mode: str, need: str
) -> None:
    venv, done = run_setup(tmp_path, mode, free_kib=3670016)  # 3.5 GiB free
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"{venv.parent} has 3.5 GiB free; the Python environment ({venv}) needs about "
        f"{need} GiB" in done.stderr
    )
    assert "NIGHTWATCH_VENV" in done.stderr
    assert not venv.exists()  # nothing was started
    assert "installing Python packages" not in done.stdout


def test_a_disk_with_room_goes_on_to_create_the_environment(tmp_path: Path) -> None:
    """With room (100 GiB free), the setup goes past the check to create the environment; a
    fake Python that answers the version check but refuses to make a venv stops it there,
    before pip."""
    real_python = subprocess.run(
        ["bash", "-c", "command -v python3"], capture_output=True, text=True, check=True
    ).stdout.strip()
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    # a fake Python: the version check passes through to the real one, `-m venv` is refused
    fake_tool(
        fakes,
        "fake-python",
        f'if [ "$1" = "-m" ]; then echo "fake python: no venv made" >&2; exit 3; fi\n'
        f'exec {real_python} "$@"',
    )
    venv, done = run_setup(tmp_path, "setup", free_kib=104857600, python=str(fakes / "fake-python"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"creating the virtual environment {venv}" in done.stdout
    assert "fake python: no venv made" in done.stderr
    assert "GiB free" not in done.stderr
