"""`nightwatch run`'s options reach the runtime: the cameras one capture process decodes, and
which detector runs (the command line's, else the site file's `detection:`, else auto)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from console.cli import build_parser
from console.commands.run import runtime_options
from console.detection import (
    FROM_COMMAND_LINE,
    FROM_DEFAULT,
    FROM_SITE_FILE,
    DetectorChoice,
    choose_detector,
    detection_change_note,
)
from console.site_file import Site, load_site
from inference.worker_pool import DetectorSpec


def test_cameras_per_capture_process_reaches_the_pipeline_options() -> None:
    args = build_parser().parse_args(["run", "site.yaml", "--cameras-per-capture-process", "8"])
    assert runtime_options(args).cameras_per_capture_process == 8
    default = build_parser().parse_args(["run", "site.yaml"])
    assert runtime_options(default).cameras_per_capture_process == 16


def test_no_capture_process_for_zero_cameras(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "site.yaml", "--cameras-per-capture-process", "0"])
    assert "must be at least 1, got 0" in capsys.readouterr().err


# -- which detector runs: the command line's, else the site file's, else auto ----------------

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_site"
TRITON = {"detector": "ssdlite-triton", "server": "triton.museum.lan:8001"}


def _site(tmp_path: Path, detection: dict | None) -> tuple[Path, Site]:
    """The example site, with the `detection:` section given (None: without one)."""
    folder = tmp_path / "site"
    shutil.copytree(EXAMPLE, folder)
    data = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))
    if detection is not None:
        data["detection"] = detection
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, load_site(path)


def _chosen(argv: list[str], site: Site) -> DetectorChoice:
    """What `nightwatch run SITE --headless ARGV` runs: the runtime's own choice
    (`SiteRuntime` calls `choose_detector` on its options and site)."""
    options = runtime_options(build_parser().parse_args(["run", "site.yaml", "--headless", *argv]))
    return choose_detector(options.detector, options.cpu_workers, site)


def test_the_site_files_detector_runs_when_the_command_line_names_none(tmp_path: Path) -> None:
    _, site = _site(tmp_path, TRITON)
    chosen = _chosen([], site)
    assert chosen.spec == DetectorSpec("ssdlite-triton", None, "triton.museum.lan:8001")
    assert chosen.workers is None  # the pool's default: 2 Triton clients
    assert chosen.source == FROM_SITE_FILE
    assert chosen.describe() == "ssdlite-triton at triton.museum.lan:8001 (from the site file)"


def test_the_command_lines_detector_wins_over_the_site_file(tmp_path: Path) -> None:
    _, site = _site(tmp_path, {**TRITON, "workers": 4})
    chosen = _chosen(["--detector", "ssdlite-opencv"], site)
    assert chosen.spec == DetectorSpec("ssdlite-opencv")
    assert chosen.workers is None  # the section's workers were for the section's detector
    assert chosen.describe() == "ssdlite-opencv (from the command line)"
    other = _chosen(["--detector", "ssdlite-triton", "--device", "10.0.0.9:8001"], site)
    assert other.spec == DetectorSpec("ssdlite-triton", None, "10.0.0.9:8001")
    assert other.describe() == "ssdlite-triton at 10.0.0.9:8001 (from the command line)"
    # --device alone is a command-line choice too: auto on that device, as without a site
    alone = _chosen(["--device", "cpu"], site)
    assert (alone.spec, alone.source) == (DetectorSpec("auto", None, "cpu"), FROM_COMMAND_LINE)


def test_workers_on_the_command_line_win_over_the_site_files(tmp_path: Path) -> None:
    _, site = _site(tmp_path, {**TRITON, "workers": 4})
    assert _chosen([], site).workers == 4
    assert _chosen([], site).describe() == (
        "ssdlite-triton at triton.museum.lan:8001, 4 clients (from the site file)"
    )
    chosen = _chosen(["--workers", "3"], site)
    assert (chosen.spec.kind, chosen.workers) == ("ssdlite-triton", 3)
    assert chosen.describe() == (
        "ssdlite-triton at triton.museum.lan:8001, 3 clients (from the site file; workers from "
        "the command line)"
    )


def test_without_either_the_default_is_auto(tmp_path: Path) -> None:
    _, site = _site(tmp_path, None)
    chosen = _chosen([], site)
    assert (chosen.spec, chosen.workers, chosen.source) == (DetectorSpec(), None, FROM_DEFAULT)
    assert chosen.describe() == "auto (from the default)"
    assert choose_detector(None, None, None).spec == DetectorSpec()


def test_a_local_detector_from_the_site_file(tmp_path: Path) -> None:
    path, site = _site(
        tmp_path,
        {"detector": "yolo", "weights": "models/people.pt", "device": "cuda:1", "workers": 2},
    )
    chosen = _chosen([], site)
    weights = str(path.parent.resolve() / "models" / "people.pt")  # beside the site file
    assert chosen.spec == DetectorSpec("yolo", weights, "cuda:1")
    assert (
        chosen.describe() == f"yolo, weights {weights}, on cuda:1, 2 workers (from the site file)"
    )
    _, named = _site(
        tmp_path / "b", {"detector": "auto", "weights": "yolo11s.pt", "device": "auto"}
    )
    assert _chosen([], named).spec == DetectorSpec("auto", "yolo11s.pt", None)  # an installed name


def test_replay_and_demo_leave_the_choice_to_the_site_and_detect_keeps_auto() -> None:
    parser = build_parser()
    replay = parser.parse_args(["replay", "site.yaml", "--events", "out.jsonl"])
    assert replay.detector is None
    assert parser.parse_args(["demo"]).detector is None
    assert parser.parse_args(["detect", "a.jpg"]).detector == "auto"
    assert parser.parse_args(["watch", "a.mp4"]).detector == "auto"  # no site to choose


def test_an_applied_edit_of_the_detection_section_says_it_waits_for_the_next_start(
    tmp_path: Path,
) -> None:
    _, site = _site(tmp_path, TRITON)
    from_site = choose_detector(None, None, site)
    assert detection_change_note(from_site) == (
        "the changed detection section takes effect at the next start; until then this console "
        "runs ssdlite-triton at triton.museum.lan:8001 (from the site file)"
    )
    from_command_line = choose_detector(DetectorSpec("ssdlite"), None, site)
    assert detection_change_note(from_command_line) == (
        "the changed detection section is not used by this console: its command line chose the "
        "detector (ssdlite (from the command line))"
    )
