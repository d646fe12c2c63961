"""`nightwatch run`'s options reach the runtime: the cameras one capture process decodes."""

from __future__ import annotations

import pytest

from console.cli import build_parser
from console.commands.run import runtime_options


def test_cameras_per_capture_process_reaches_the_pipeline_options() -> None:
    args = build_parser().parse_args(["run", "site.yaml", "--cameras-per-capture-process", "8"])
    assert runtime_options(args).cameras_per_capture_process == 8
    default = build_parser().parse_args(["run", "site.yaml"])
    assert runtime_options(default).cameras_per_capture_process == 16


def test_no_capture_process_for_zero_cameras(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "site.yaml", "--cameras-per-capture-process", "0"])
    assert "must be at least 1, got 0" in capsys.readouterr().err
