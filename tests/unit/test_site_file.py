"""The site file: the reference example loads; each malformed file is refused, clearly."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from console.commands import check
from console.site_file import (
    Arming,
    Site,
    SiteFileError,
    load_site,
    parse_hours,
    site_schema,
)
from tests.crafted_images import cut, png_declaring, real_jpeg, real_png

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "data" / "example_site"
SHARED_EXAMPLE = REPO.parent / "shared" / "examples"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A private copy of the example site (site.yaml + plans/ground.png)."""
    target = tmp_path / "site"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def example_data() -> dict:
    return yaml.safe_load((EXAMPLE / "site.yaml").read_text(encoding="utf-8"))


def write(site_dir: Path, data: dict) -> Path:
    path = site_dir / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    assert caught.value.problems, "a SiteFileError must hold at least one problem"
    return caught.value.problems


# --------------------------------------------------------------------------- the reference file


def test_reference_example_loads_as_is(site_dir: Path) -> None:
    site = load_site(site_dir / "site.yaml")
    assert site.site.name == "Example Museum"
    assert [c.id for c in site.cameras] == ["cam-east", "cam-west", "cam-corridor"]
    assert site.floor("ground").plan_size_px == (1200, 800)
    assert site.floor("ground").plan_path == (site_dir / "plans" / "ground.png").resolve()
    assert site.protected_object("milkmaid").value == "high"
    assert site.protected_object("milkmaid").image_regions["cam-east"][0] == (540, 250)
    assert site.zone("store").kind == "restricted"
    assert site.zone("store").loiter_s is None
    assert site.zone("east-gallery").armed is Arming.AFTER_HOURS  # the default
    assert site.rules.proximity.dwell_s == 0.5
    assert site.rules.object_missing.check_every_s == 30
    assert site.alarms.escalate_after_s.medium == 60
    assert site.alert_routes[0].to == ("control_room", "gallery")
    assert site.guard("g-ben").post == "East wing"
    assert site.camera("cam-east").calibration is not None
    assert site.calibration("cam-west") is None
    assert site.opening_hours.exceptions[0].date == date(2026, 12, 25)


def test_committed_example_matches_shared_reference_when_present() -> None:
    if not (SHARED_EXAMPLE / "site.yaml").exists():
        pytest.skip("../shared/examples is not present on this machine")
    site = load_site(SHARED_EXAMPLE / "site.yaml")
    assert len(site.cameras) == 3
    assert (EXAMPLE / "site.yaml").read_bytes() == (SHARED_EXAMPLE / "site.yaml").read_bytes()


def test_relative_paths_resolve_against_the_site_folder(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    site = load_site(site_dir / "site.yaml")
    assert site.floor("ground").plan_size_px == (1200, 800)
    assert site.base_dir == site_dir.resolve()


def test_lookup_of_unknown_id_names_it(site_dir: Path) -> None:
    site = load_site(site_dir / "site.yaml")
    with pytest.raises(KeyError, match="cam-north"):
        site.camera("cam-north")
    assert [o.id for o in site.objects_seen_by("cam-east")] == ["milkmaid"]
    assert len(site.cameras_on("ground")) == 3


def test_file_and_usb_sources(site_dir: Path, example_data: dict) -> None:
    (site_dir / "clips").mkdir()
    (site_dir / "clips" / "east.mp4").write_bytes(b"not checked for content")
    example_data["cameras"][0]["source"] = "clips/east.mp4"
    example_data["cameras"][1]["source"] = "usb:2"
    site = load_site(write(site_dir, example_data))
    east, west = site.camera("cam-east"), site.camera("cam-west")
    assert east.source_kind == "file"
    assert east.resolved_source == str((site_dir / "clips" / "east.mp4").resolve())
    assert west.source_kind == "usb"
    assert west.usb_index == 2
    assert site.camera("cam-corridor").resolved_source.startswith("rtsp://")


def test_optional_sections_take_documented_defaults(site_dir: Path, example_data: dict) -> None:
    for key in ("rules", "alarms", "alert_routes", "guards", "protected_objects", "zones"):
        del example_data[key]
    site = load_site(write(site_dir, example_data))
    assert site.rules.camera_health.video_loss_s == 10
    assert site.alarms.escalate_after_s.high == 30
    assert [r.to for r in site.alert_routes] == [("control_room",)]
    assert site.guards == ()
    assert site.retention.snapshots_days == 30  # snapshots purged after 30 days
    assert site.privacy.blur_exported_people is True  # bystanders blurred in exports
    example_data["retention"] = {"snapshots_days": None}  # null: kept forever
    assert load_site(write(site_dir, example_data)).retention.snapshots_days is None


def test_a_detection_section_names_the_detector(site_dir: Path, example_data: dict) -> None:
    assert load_site(write(site_dir, example_data)).detection is None  # optional
    example_data["detection"] = {"detector": "ssdlite-triton", "server": " triton.lan:8001"}
    section = load_site(write(site_dir, example_data)).detection
    assert section is not None
    assert (section.detector, section.server, section.workers) == (
        "ssdlite-triton",
        "triton.lan:8001",
        None,
    )
    example_data["detection"] = {"detector": "ssdlite-triton", "server": "[::1]:8001"}
    section = load_site(write(site_dir, example_data)).detection
    assert section is not None
    assert section.server == "[::1]:8001"
    example_data["detection"] = {
        "detector": "yolo",
        "weights": "yolo11s.pt",
        "device": "CUDA:1",
        "workers": 3,
    }
    section = load_site(write(site_dir, example_data)).detection
    assert section is not None
    assert (section.weights, section.device, section.workers) == ("yolo11s.pt", "cuda:1", 3)


def test_site_model_checks_cross_references_without_load_site(example_data: dict) -> None:
    example_data["cameras"][0]["floor"] = "attic"
    with pytest.raises(ValidationError, match=r"cameras\[0\]\.floor: no floor with this id"):
        Site.model_validate(example_data)


# --------------------------------------------------------------------------- malformed files

Edit = Callable[[dict], None]


def _set(path: str, value: object) -> Edit:
    """An edit that sets data at a dotted path with [i] indices, e.g. 'cameras[1].floor'."""

    def edit(data: dict) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        node: typing.Any = data
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(data: dict) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        node: typing.Any = data
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(parts[-1]) if parts[-1].isdigit() else parts[-1]]

    return edit


def _duplicate_camera(data: dict) -> None:
    data["cameras"].append(copy.deepcopy(data["cameras"][0]))


MALFORMED: list[tuple[str, Edit, str]] = [
    (
        "calibration-too-few-points",
        _set("cameras[0].calibration.image", [[80, 700], [1200, 690], [960, 330]]),
        "site.yaml: cameras[0].calibration.image: needs at least 4 points (got 3)",
    ),
    (
        "calibration-count-mismatch",
        _set(
            "cameras[0].calibration.plan", [[640, 540], [1140, 540], [1140, 90], [640, 90], [9, 9]]
        ),
        "cameras[0].calibration.plan: needs one plan point per image point (4 image points) "
        "(got 5)",
    ),
    (
        "calibration-collinear",
        _set("cameras[0].calibration.image", [[0, 700], [500, 700], [1000, 700], [330, 335]]),
        "cameras[0].calibration.image: three of the four points lie on one line (got [[0, 700],",
    ),
    (
        "calibration-duplicate-point",
        _set("cameras[0].calibration.plan", [[640, 540], [640, 540], [1140, 90], [640, 90]]),
        "cameras[0].calibration.plan: points 1 and 2 coincide (got [[640, 540],",
    ),
    (
        "unknown-camera-field",
        _set("cameras[1].fps", 25),
        "site.yaml: cameras[1].fps: unknown field (got 25)",
    ),
    (
        "misspelt-field-suggests",
        lambda d: d["cameras"][1].__setitem__("flor", d["cameras"][1].pop("floor")),
        "cameras[1].flor: unknown field, did you mean 'floor'? (got 'ground')",
    ),
    (
        "missing-source",
        _delete("cameras[2].source"),
        "site.yaml: cameras[2].source: required field missing (got nothing)",
    ),
    (
        "unknown-floor",
        _set("cameras[1].floor", "first"),
        "site.yaml: cameras[1].floor: no floor with this id (got 'first')",
    ),
    (
        "bad-timezone",
        _set("site.timezone", "Europe/Atlantis"),
        "site.yaml: site.timezone: unknown time zone (use an IANA name such as Europe/Amsterdam)"
        " (got 'Europe/Atlantis')",
    ),
    (
        "hours-format",
        _set("opening_hours.tue", "10-17"),
        "opening_hours.tue: should be 'closed' or opening-closing times like '10:00-17:00' "
        "(got '10-17')",
    ),
    (
        "hours-same-time",
        _set("opening_hours.wed", "17:00-17:00"),
        "opening_hours.wed: 17:00-17:00 opens and closes at the same time",
    ),
    (
        "hours-not-a-time",
        _set("opening_hours.thu", "10:00-25:00"),
        "opening_hours.thu: 25:00 is not a time of day (got '10:00-25:00')",
    ),
    (
        "weekday-missing",
        _delete("opening_hours.sun"),
        "opening_hours.sun: required field missing (got nothing)",
    ),
    (
        "exception-bad-date",
        _set("opening_hours.exceptions[0].date", "2026-02-30"),
        "opening_hours.exceptions[0].date: should be a valid date",
    ),
    (
        "exception-date-twice",
        _set("opening_hours.exceptions[1].date", "2026-12-25"),
        "opening_hours.exceptions[1].date: date listed twice, also in exceptions[0] "
        "(got 2026-12-25)",
    ),
    (
        "value-tier",
        _set("protected_objects[0].value", "priceless"),
        "protected_objects[0].value: should be 'high', 'medium' or 'low' (got 'priceless')",
    ),
    (
        "negative-distance",
        _set("protected_objects[1].min_distance_m", -1),
        "protected_objects[1].min_distance_m: should be greater than 0 (got -1)",
    ),
    (
        "distance-infinite",
        _set("protected_objects[0].min_distance_m", float("inf")),
        "protected_objects[0].min_distance_m: should be a finite number (got inf)",
    ),
    (
        "distance-as-text",
        _set("protected_objects[1].min_distance_m", "1 m"),
        "protected_objects[1].min_distance_m: should be a valid number (got '1 m')",
    ),
    (
        "image-region-unknown-camera",
        lambda d: d["protected_objects"][0]["image_regions"].__setitem__(
            "cam-north", [[1, 1], [50, 1], [50, 50]]
        ),
        "protected_objects[0].image_regions.cam-north: no camera with this id (got 'cam-north')",
    ),
    (
        "object-without-geometry",
        _delete("protected_objects[2].plan_polygon"),
        "protected_objects[2]: needs a plan_polygon or at least one image_regions entry "
        "(got 'bronze-dancer')",
    ),
    (
        "polygon-two-points",
        _set("zones[0].plan_polygon", [[604, 44], [1156, 44]]),
        "site.yaml: zones[0].plan_polygon: needs at least 3 points (got 2)",
    ),
    (
        "polygon-outside-plan",
        _set("zones[1].plan_polygon[2]", [1300, 556]),
        "zones[1].plan_polygon[2]: point outside the 1200 x 800 px plan of floor 'ground' "
        "(got [1300, 556])",
    ),
    (
        "polygon-self-intersecting",
        _set("zones[3].plan_polygon", [[904, 564], [1156, 756], [1156, 564], [904, 756]]),
        "zones[3].plan_polygon: the polygon's edges cross each other",
    ),
    (
        "polygon-point-not-a-pair",
        _set("protected_objects[2].plan_polygon[1]", [900]),
        "protected_objects[2].plan_polygon[1]: a point is [x, y]: two numbers, in pixels "
        "(got [900])",
    ),
    (
        "plan-position-outside",
        _set("cameras[2].plan_position", [80, 900]),
        "cameras[2].plan_position: point outside the 1200 x 800 px plan of floor 'ground' "
        "(got [80, 900])",
    ),
    (
        "zone-kind",
        _set("zones[2].kind", "lobby"),
        "zones[2].kind: should be 'gallery', 'restricted', 'exit' or 'corridor' (got 'lobby')",
    ),
    (
        "loiter-text",
        _set("zones[0].loiter_s", "ten minutes"),
        "zones[0].loiter_s: should be a valid number (got 'ten minutes')",
    ),
    (
        "armed-not-bool",
        _set("zones[0].armed", "maybe"),
        "zones[0].armed: should be 'always', 'after_hours' or 'never' (or true / false) "
        "(got 'maybe')",
    ),
    (
        "duplicate-camera-id",
        _duplicate_camera,
        "site.yaml: cameras[3].id: duplicate id, also used by cameras[0] (got 'cam-east')",
    ),
    (
        "object-and-zone-share-id",
        _set("protected_objects[2].id", "corridor"),
        "protected_objects[2].id: same id as zones[2]",
    ),
    (
        "bad-id-characters",
        _set("guards[0].id", "g anna"),
        "guards[0].id: an id uses letters, digits, '-', '_' and '.' only (got 'g anna')",
    ),
    (
        "unsupported-version",
        _set("version", 2),
        "site.yaml: version: unsupported format version, this console reads 1 (got 2)",
    ),
    (
        "unknown-rule",
        _set("rules.teleport", {"enabled": True}),
        "rules.teleport: unknown field (got {enabled: true})",
    ),
    (
        "rule-switch-not-bool",
        _set("rules.proximity.enabled", "yes please"),
        "rules.proximity.enabled: should be a valid boolean (got 'yes please')",
    ),
    (
        "escalation-missing-severity",
        _delete("alarms.escalate_after_s.high"),
        "alarms.escalate_after_s.high: required field missing (got nothing)",
    ),
    (
        "route-destination",
        _set("alert_routes[0].to", ["control_room", "pager"]),
        "alert_routes[0].to[1]: should be 'control_room', 'gallery' or 'supervisor' (got 'pager')",
    ),
    (
        "route-unknown-zone",
        _set("alert_routes[1].match.zones", ["east-gallery", "attic"]),
        "alert_routes[1].match.zones[1]: no zone with this id (got 'attic')",
    ),
    (
        "credentials-in-url",
        _set("cameras[0].source", "rtsp://admin:hunter2@cam-east.museum.example/stream1"),
        "cameras[0].source: credentials belong in the secrets store (name them in `credentials`),"
        " not in the URL (got 'rtsp://***@cam-east.museum.example/stream1')",
    ),
    (
        "source-scheme",
        _set("cameras[1].source", "ftp://cam-west/stream"),
        "cameras[1].source: unsupported URL scheme",
    ),
    (
        "usb-source-format",
        _set("cameras[1].source", "usb:front"),
        "cameras[1].source: a USB camera is written usb:N, N a device number (got 'usb:front')",
    ),
    (
        "missing-video-file",
        _set("cameras[1].source", "clips/west.mp4"),
        "cameras[1].source: video file not found at",
    ),
    (
        "zero-scale",
        _set("floors[0].metres_per_pixel", 0),
        "floors[0].metres_per_pixel: should be greater than 0 (got 0)",
    ),
    (
        "no-floors",
        _set("floors", []),
        "site.yaml: floors: needs at least 1 item (got 0)",
    ),
    (
        "missing-plan-image",
        _set("floors[0].plan", "plans/first.png"),
        "site.yaml: floors[0].plan: plan image not found at",
    ),
    (
        "section-not-a-list",
        _set("cameras", {"id": "cam-east"}),
        "cameras: should be a list (got {id: 'cam-east'})",
    ),
    (
        "missing-section",
        _delete("opening_hours"),
        "site.yaml: opening_hours: required field missing (got nothing)",
    ),
    (
        "retention-zero-days",
        _set("retention", {"snapshots_days": 0}),
        "retention.snapshots_days: should be greater than or equal to 1 (got 0)",
    ),
    (
        "retention-days-as-text",
        _set("retention", {"snapshots_days": "30"}),
        "retention.snapshots_days: should be a valid integer (got '30')",
    ),
    (
        "privacy-misspelt",
        _set("privacy", {"blur_people": True}),
        "privacy.blur_people: unknown field, did you mean 'blur_exported_people'? (got true)",
    ),
    (
        "detection-unknown-kind",
        _set("detection", {"detector": "yolov9"}),
        "site.yaml: detection.detector: unknown detector kind (use auto, yolo, yolo-openvino, "
        "yolo-ultralytics, ssdlite, ssdlite-openvino, ssdlite-opencv, ssdlite-triton) "
        "(got 'yolov9')",
    ),
    (
        "detection-triton-without-server",
        _set("detection", {"detector": "ssdlite-triton"}),
        "site.yaml: detection.server: ssdlite-triton needs the Triton server's gRPC address, "
        "HOST:PORT (e.g. triton.museum.lan:8001) (got nothing)",
    ),
    (
        "detection-server-without-port",
        _set("detection", {"detector": "ssdlite-triton", "server": "triton.museum.lan"}),
        "site.yaml: detection.server: a Triton server is written HOST:PORT, e.g. "
        "triton.museum.lan:8001 (got 'triton.museum.lan')",
    ),
    (
        "detection-server-port-out-of-range",
        _set("detection", {"detector": "ssdlite-triton", "server": "triton.museum.lan:70000"}),
        "site.yaml: detection.server: the port of a Triton server is a number from 1 to 65535 "
        "(got 'triton.museum.lan:70000')",
    ),
    (
        "detection-server-port-zero",
        _set("detection", {"detector": "ssdlite-triton", "server": "10.0.0.5:0"}),
        "detection.server: the port of a Triton server is a number from 1 to 65535 "
        "(got '10.0.0.5:0')",
    ),
    (
        "detection-server-as-url",
        _set("detection", {"detector": "ssdlite-triton", "server": "grpc://triton:8001"}),
        "detection.server: a Triton server is HOST:PORT, not a URL (got 'grpc://triton:8001')",
    ),
    (
        "detection-server-bad-host",
        _set("detection", {"detector": "ssdlite-triton", "server": "tri ton:8001"}),
        "detection.server: a Triton server is HOST:PORT: a host name or address",
    ),
    (
        "detection-server-for-a-local-kind",
        _set("detection", {"detector": "ssdlite", "server": "triton.museum.lan:8001"}),
        "site.yaml: detection.server: detector ssdlite runs on this machine: a server is only "
        "for ssdlite-triton (got 'triton.museum.lan:8001')",
    ),
    (
        "detection-device-for-triton",
        _set("detection", {"detector": "ssdlite-triton", "server": "t:8001", "device": "cuda:0"}),
        "site.yaml: detection.device: detector ssdlite-triton runs on the Triton server named "
        "in `server`, not on a device here (got 'cuda:0')",
    ),
    (
        "detection-bad-device",
        _set("detection", {"detector": "yolo", "device": "gpu"}),
        "site.yaml: detection.device: a device is auto, cpu, cuda or cuda:N (got 'gpu')",
    ),
    (
        "detection-cuda-for-a-cpu-kind",
        _set("detection", {"detector": "yolo-openvino", "device": "cuda:0"}),
        "detection.device: detector yolo-openvino runs on the CPU only (use cpu or auto) "
        "(got 'cuda:0')",
    ),
    (
        "detection-weights-for-ssdlite",
        _set("detection", {"detector": "ssdlite-triton", "server": "t:8001", "weights": "x.pt"}),
        "detection.weights: detector ssdlite-triton runs its bundled model: weights are only "
        "for auto and the yolo kinds (got 'x.pt')",
    ),
    (
        "detection-no-workers",
        _set("detection", {"detector": "ssdlite", "workers": 0}),
        "detection.workers: should be greater than or equal to 1 (got 0)",
    ),
    (
        "detection-misspelt",
        _set("detection", {"detector": "ssdlite-triton", "sever": "t:8001"}),
        "detection.sever: unknown field, did you mean 'server'? (got 't:8001')",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_site_is_refused_with_its_message(
    site_dir: Path, example_data: dict, edit: Edit, expected: str
) -> None:
    edit(example_data)
    problems = problems_of(write(site_dir, example_data))
    assert any(expected in p for p in problems), "\n".join(problems)
    for problem in problems:
        assert problem.startswith(f"{site_dir / 'site.yaml'}: "), problem
        assert "(got " in problem, problem


def test_enough_malformed_cases() -> None:
    assert len({c[0] for c in MALFORMED}) == len(MALFORMED) >= 22


TEXT_CASES: list[tuple[str, Callable[[str], str], str]] = [
    (
        "yaml-syntax",
        lambda t: t.replace("  name: Example Museum", "  name: Example: Museum: [", 1),
        ": line 7 column ",
    ),
    (
        "yaml-duplicate-key",
        lambda t: t.replace(
            "    name: West gallery\n", "    name: West gallery\n    name: West\n", 1
        ),
        "cameras[1].name: key given twice, on lines 42 and 43 (got 'West')",
    ),
    (
        "yaml-unquoted-time",
        lambda t: t.replace('tue: "10:00-17:00"', "tue: 10:00"),
        "opening_hours.tue: should be 'closed' or opening-closing times like '10:00-17:00' "
        "(got '10:00')",
    ),
    (
        "yaml-top-level-list",
        lambda t: "- version: 1\n",
        ": <document>: should be a mapping of sections (version, site, ...) (got [{version: 1}])",
    ),
    (
        "yaml-empty",
        lambda t: "# nothing here\n",
        ": <document>: the site file is empty (got nothing)",
    ),
    (
        "yaml-tab-indent",
        lambda t: t.replace("  timezone: Europe/Amsterdam", "\ttimezone: Europe/Amsterdam"),
        "invalid YAML",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_malformed_yaml_text_is_refused(
    site_dir: Path, edit: Callable[[str], str], expected: str
) -> None:
    path = site_dir / "site.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    problems = problems_of(path)
    assert any(expected in p for p in problems), "\n".join(problems)


def test_yaml_syntax_error_names_line_and_text(site_dir: Path) -> None:
    path = site_dir / "site.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "    floor: ground\n", "    floor: [ground\n", 1
    )
    path.write_text(text, encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: line ")
    assert "invalid YAML" in problem


def test_missing_site_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nowhere.yaml")
    missing = tmp_path / "nowhere.yaml"
    assert problem == f"{missing}: <document>: site file not found (got '{missing}')"


def test_every_problem_is_reported_at_once(site_dir: Path, example_data: dict) -> None:
    example_data["cameras"][0]["fps"] = 25  # structural error in one camera
    example_data["cameras"][1]["floor"] = "attic"  # cross-reference error in another
    example_data["zones"][0]["kind"] = "lobby"
    example_data["site"]["timezone"] = "Nowhere/Land"
    problems = problems_of(write(site_dir, example_data))
    joined = "\n".join(problems)
    assert "cameras[0].fps: unknown field" in joined
    assert "cameras[1].floor: no floor with this id (got 'attic')" in joined
    assert "zones[0].kind:" in joined
    assert "site.timezone: unknown time zone" in joined
    assert len(problems) == 4, joined


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"this is not an image at all"],
    ids=["empty", "truncated-png", "text"],
)
def test_corrupt_plan_image_is_refused(site_dir: Path, content: bytes) -> None:
    (site_dir / "plans" / "ground.png").write_bytes(content)
    problems = problems_of(site_dir / "site.yaml")
    assert any(
        p.startswith(f"{site_dir / 'site.yaml'}: floors[0].plan: plan image ")
        and p.endswith("(got 'plans/ground.png')")
        for p in problems
    ), problems


def test_half_a_png_is_refused(site_dir: Path) -> None:
    plan = site_dir / "plans" / "ground.png"
    plan.write_bytes(plan.read_bytes()[:200])
    problems = problems_of(site_dir / "site.yaml")
    assert any("floors[0].plan: plan image is corrupt" in p for p in problems), problems


# --------------------------------------------------------------------------- opening hours


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir / "site.yaml")


AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 7, 6, 12, 0, tzinfo=AMS), False),  # Monday: closed
        (datetime(2026, 7, 7, 9, 59, 59, tzinfo=AMS), False),  # Tuesday, before opening
        (datetime(2026, 7, 7, 10, 0, tzinfo=AMS), True),  # opens at 10:00 sharp
        (datetime(2026, 7, 7, 16, 59, 59, tzinfo=AMS), True),
        (datetime(2026, 7, 7, 17, 0, tzinfo=AMS), False),  # closes at 17:00 sharp
        (datetime(2026, 7, 9, 20, 30, tzinfo=AMS), True),  # Thursday late opening
        (datetime(2026, 7, 10, 20, 30, tzinfo=AMS), False),  # Friday evening
        (datetime(2026, 7, 11, 17, 30, tzinfo=AMS), True),  # Saturday until 18:00
        (datetime(2026, 12, 25, 12, 0, tzinfo=AMS), False),  # Friday, Christmas: closed
        (datetime(2026, 12, 18, 12, 0, tzinfo=AMS), True),  # the Friday before: open
        (datetime(2026, 12, 31, 14, 59, tzinfo=AMS), True),  # Thursday, short day
        (datetime(2026, 12, 31, 15, 0, tzinfo=AMS), False),  # ... closes at 15:00, not 21:00
    ],
)
def test_is_open_by_weekday_and_exception(site: Site, when: datetime, expected: bool) -> None:
    assert site.is_open(when) is expected


def test_is_open_converts_to_the_site_time_zone(site: Site) -> None:
    # Tuesday 08:30 UTC is 10:30 in Amsterdam in summer (UTC+2): open.
    assert site.is_open(datetime(2026, 7, 7, 8, 30, tzinfo=UTC))
    # The same UTC time in winter (UTC+1) is 09:30 in Amsterdam: still closed.
    assert not site.is_open(datetime(2026, 1, 6, 8, 30, tzinfo=UTC))
    # Monday 23:30 in New York is Tuesday 05:30 in Amsterdam: closed; Tuesday 06:00 NY is 12:00.
    new_york = ZoneInfo("America/New_York")
    assert not site.is_open(datetime(2026, 7, 6, 23, 30, tzinfo=new_york))
    assert site.is_open(datetime(2026, 7, 7, 6, 0, tzinfo=new_york))
    # Christmas in Amsterdam starts at 23:00 UTC on the 24th.
    assert not site.is_open(datetime(2026, 12, 24, 23, 30, tzinfo=timezone(timedelta(0))))


def test_is_open_refuses_naive_datetimes(site: Site) -> None:
    with pytest.raises(ValueError, match="aware"):
        site.is_open(datetime(2026, 7, 7, 12, 0))


def test_hours_on_and_parse_hours(site: Site) -> None:
    assert site.opening_hours.hours_on(date(2026, 7, 9)) == (10 * 3600, 21 * 3600)
    assert site.opening_hours.hours_on(date(2026, 7, 6)) is None
    assert parse_hours("00:00-24:00") == (0, 86400)
    assert parse_hours("closed") is None
    with pytest.raises(ValueError, match="opens and closes at the same time"):
        parse_hours("12:00-12:00")
    assert parse_hours("18:00-02:00") == (18 * 3600, 26 * 3600)  # until 02:00 the next day


def test_other_time_zone_site(site_dir: Path, example_data: dict) -> None:
    example_data["site"]["timezone"] = "Asia/Tokyo"
    site = load_site(write(site_dir, example_data))
    # Tuesday 10:30 in Tokyo is 01:30 UTC.
    assert site.is_open(datetime(2026, 7, 7, 1, 30, tzinfo=UTC))
    assert not site.is_open(datetime(2026, 7, 7, 10, 30, tzinfo=UTC))


# --------------------------------------------------------------------------- nightwatch check


def _check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nightwatch")
    sub = parser.add_subparsers(dest="command", required=True)
    check.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_check_ok_prints_one_line_summary(
    site_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(site_dir)
    assert _check(["check", "site.yaml"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "site.yaml: warning: alert_routes[0].to: gallery alerts go nowhere: no gallery "
        "destination is configured (alert_destinations.gallery)\n"
        "site.yaml: warning: alert_destinations.supervisor: escalations page nobody: no "
        "supervisor destination is configured, only this console knows\n"
        "site.yaml: warning: cameras[0].frame_size_px: the frame size of camera 'cam-east' "
        "(url) is not known, so its image outlines cannot be checked against its frame: "
        "declare frame_size_px: [width, height]\n"
        "site.yaml: warning: cameras[1].frame_size_px: the frame size of camera 'cam-west' "
        "(url) is not known, so its image outlines cannot be checked against its frame: "
        "declare frame_size_px: [width, height]\n"
        "site.yaml: Example Museum: 1 floor, 3 cameras, 3 protected objects, 4 zones, "
        "2 guards: ok\n"
    )


def test_check_lists_every_problem_and_exits_1(
    site_dir: Path,
    example_data: dict,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example_data["cameras"][0]["calibration"]["image"] = [[80, 700], [1200, 690], [960, 330]]
    example_data["zones"][1]["kind"] = "lobby"
    write(site_dir, example_data)
    monkeypatch.chdir(site_dir)
    assert _check(["check", "site.yaml"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "site.yaml: cameras[0].calibration.image: needs at least 4 points (got 3)" in lines
    assert (
        "site.yaml: zones[1].kind: should be 'gallery', 'restricted', 'exit' or 'corridor' "
        "(got 'lobby')"
    ) in lines
    assert len(lines) == 2


def test_check_through_the_nightwatch_cli(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    assert main(["check", str(site_dir / "site.yaml")]) == 0
    assert capsys.readouterr().out.endswith(": ok\n")
    (site_dir / "plans" / "ground.png").unlink()
    assert main(["check", str(site_dir / "site.yaml")]) == 1


def test_check_and_core_import_neither_torch_nor_qt() -> None:
    code = (
        "import sys, argparse\n"
        "import console.site_file, console.floor_plan\n"
        "from console.commands import check\n"
        "p = argparse.ArgumentParser(); s = p.add_subparsers(); check.register(s)\n"
        f"a = p.parse_args(['check', {str(EXAMPLE / 'site.yaml')!r}])\n"
        "assert a.func(a) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'ultralytics', 'PySide6', 'pyqtgraph', 'ui', 'torchvision'})\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


# --------------------------------------------------------------------------- schema and docs


def test_committed_schema_matches_the_models() -> None:
    """Regenerate with: python -m console.site_file --schema > resources/site.schema.json"""
    committed = json.loads((REPO / "resources" / "site.schema.json").read_text(encoding="utf-8"))
    assert committed == site_schema()


def test_schema_command_prints_the_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console.site_file", "--schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == site_schema()


def _all_models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                _all_models(tp, seen)
            stack.extend(typing.get_args(tp))
    return seen


def test_every_field_has_a_title_and_description_and_is_documented() -> None:
    docs = (REPO / "docs" / "site-file.md").read_text(encoding="utf-8")
    models = _all_models(Site, set())
    assert len(models) >= 15
    for model in models:
        assert model.model_config.get("extra") == "forbid", model
        for name, field in model.model_fields.items():
            assert field.title, f"{model.__name__}.{name} has no title"
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"`{name}`" in docs, f"{model.__name__}.{name} is not in docs/site-file.md"


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "source",
    [
        "rtsp://admin:pa/ss@cam-east.museum.example/stream1",
        "rtsp://admin:p@ss:w/rd@cam-east.museum.example/stream1",
        "rtsp://admin:a%2Fb@cam-east.museum.example/stream1",
        "ftp://admin:pa/ss@cam-east.museum.example/stream1",
    ],
)
def test_a_password_in_a_source_url_is_refused_and_never_shown(
    site_dir: Path, example_data: dict, source: str
) -> None:
    example_data["cameras"][0]["source"] = source
    problems = problems_of(write(site_dir, example_data))
    joined = "\n".join(problems)
    assert "cameras[0].source: " in joined
    assert "'rtsp://***@cam-east.museum.example/stream1'" in joined or "ftp://***@" in joined
    for secret in ("pa/ss", "p@ss", "w/rd", "a%2Fb", "admin"):
        assert secret not in joined, joined


BILLION_LAUGHS = "\n".join(
    ['laughs0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"laughs{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 8)]
)


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (BILLION_LAUGHS, ": a site file holds no aliases (*l0): write the value out (got "),
        ("defaults: &cam {floor: ground}\nmore: *cam", "holds no aliases (*cam)"),
        ("guards2: [{<<: *nowhere}]", "holds no aliases (*nowhere)"),
    ],
    ids=["billion-laughs", "alias", "merge-key"],
)
def test_yaml_aliases_are_refused(site_dir: Path, addition: str, expected: str) -> None:
    path = site_dir / "site.yaml"
    path.write_text(path.read_text(encoding="utf-8") + addition + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: line ")
    assert expected in problem


def test_the_loader_stops_at_its_value_budget(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.site_file import yaml_loading

    monkeypatch.setattr(yaml_loading, "MAX_VALUES", 500)
    path = site_dir / "site.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "padding: [" + "1, " * 5000 + "1]\n", encoding="utf-8"
    )
    (problem,) = problems_of(path)
    assert "more than 500 values in one site file" in problem
    loader = yaml_loading.SiteLoader(path.read_text(encoding="utf-8"))
    with pytest.raises(yaml.YAMLError):
        loader.get_single_node()
    assert loader.values == 501  # composing stopped at the first value past the budget


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: " + "[" * 200 + "]" * 200 + "\n", "nested more than 32 levels deep"),
        ("version: " + "1" * 5000 + "\n", "invalid YAML: a number of more than 100 digits"),
        ("version: !!timestamp soon\n", "line 1 column 10: invalid YAML: not a valid timestamp"),
        ("version: !!timestamp 2026-13-01\n", "not a valid timestamp: month must be in 1..12"),
        ('site: {name: "a\x01b"}\n', "line 1 column 16: invalid YAML: special characters"),
        ("version: !!python/object:os.system ls\n", "could not determine a constructor"),
    ],
    ids=["deep", "long-number", "bad-timestamp", "impossible-date", "control-char", "python-tag"],
)
def test_hostile_yaml_is_one_clear_problem(site_dir: Path, text: str, expected: str) -> None:
    path = site_dir / "site.yaml"
    path.write_text(text, encoding="utf-8")
    (problem,) = problems_of(path)
    assert expected in problem, problem
    assert "\n" not in problem, problem
    assert len(problem) < 400, problem


def test_a_site_file_over_1_mib_is_refused_unread(site_dir: Path) -> None:
    path = site_dir / "site.yaml"
    path.write_text("#" * (1 << 20) + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}: <document>: too large for a site file: more than 1048576 bytes (1 MiB), "
        f"refused unread (got {(1 << 20) + 1})"
    )


def test_a_fifo_or_device_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)  # opening it to read would block until a writer comes
    (problem,) = problems_of(fifo)
    assert "cannot read the site file: not a regular file" in problem
    (problem,) = problems_of(Path("/dev/zero"))  # reading it would never end
    assert "not a regular file" in problem


def test_a_huge_value_is_shown_cut_without_being_written_out(
    site_dir: Path, example_data: dict
) -> None:
    example_data["cameras"][0]["notes"] = "x" * 200_000
    example_data["zones"][0]["shape"] = [[i, i] for i in range(5_000)]
    example_data["guards"][0]["x" * 5000] = 1
    problems = problems_of(write(site_dir, example_data))
    assert len(problems) == 3, problems
    for problem in problems:
        assert len(problem) < 300, problem[:300]
    assert any("cameras[0].notes: unknown field (got 'xxxxxxx" in p for p in problems)
    assert any("zones[0].shape: unknown field (got [[0, 0], [1, 1]" in p for p in problems)


def test_show_stops_writing_at_its_limit() -> None:
    from console.site_file.problems import show

    class Endless(list):
        def __iter__(self):  # a value that never ends: show must stop by itself
            while True:
                yield [1, 2]

    assert show(Endless()) == ("[" + ", ".join(["[1, 2]"] * 20))[:77] + "..."
    assert show("rtsp://admin:s3cret@cam.local/x") == "'rtsp://admin:***@cam.local/x'"
    assert show(10**5000) == "a number of 16610 bits"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _set("cameras[0].id", "c" * 65),
            "cameras[0].id: should have at most 64 characters (got 'cccc",
        ),
        (
            _set("zones[0].plan_polygon", [[600 + (i % 2) * 10, 44 + i * 7] for i in range(65)]),
            "zones[0].plan_polygon: needs at most 64 points (got 65)",
        ),
        (
            _set("cameras[0].calibration.image", [[i * 10, (i * i) % 97] for i in range(33)]),
            "cameras[0].calibration.image: needs at most 32 points (got 33)",
        ),
    ],
    ids=["long-id", "polygon-points", "calibration-points"],
)
def test_sizes_that_bound_the_checks(
    site_dir: Path, example_data: dict, edit: Edit, expected: str
) -> None:
    edit(example_data)
    problems = problems_of(write(site_dir, example_data))
    assert any(expected in p for p in problems), "\n".join(problems)


def test_a_flood_of_problems_is_cut_to_200_lines(site_dir: Path, example_data: dict) -> None:
    example_data["guards"] = [{"id": f"g{i}", "name": "", "post": ""} for i in range(150)]
    problems = problems_of(write(site_dir, example_data))
    assert len(problems) == 201
    assert problems[-1] == (
        f"{site_dir / 'site.yaml'}: <document>: 100 more problems not listed (fix these first) "
        "(got 100)"
    )


# --------------------------------------------------------------------------- hostile plan images


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            png_declaring(20000, 20000),
            "floors[0].plan: plan image is too large: 20000 x 20000 px, more than 16384 px a side "
            "(got 'plans/ground.png')",
        ),
        (
            png_declaring(9000, 9000),
            "floors[0].plan: plan image is too large: 9000 x 9000 px (81 Mpx), more than 64 Mpx",
        ),
        (
            cut(real_jpeg(), 0.7),
            "floors[0].plan: plan image is corrupt or not an image (PNG or JPEG): truncated JPEG: "
            "it has no end-of-image marker (got 'plans/ground.png')",
        ),
        (
            cut(real_png(), 0.98),
            "floors[0].plan: plan image is corrupt or not an image (PNG or JPEG): truncated PNG",
        ),
    ],
    ids=["20000-px", "81-mpx", "truncated-jpeg", "truncated-png"],
)
def test_hostile_plan_images_are_refused_before_decoding(
    site_dir: Path, content: bytes, expected: str
) -> None:
    (site_dir / "plans" / "ground.png").write_bytes(content)
    problems = problems_of(site_dir / "site.yaml")
    assert any(expected in p for p in problems), "\n".join(problems)


def test_a_jpeg_plan_is_read(site_dir: Path) -> None:
    plan = cv2.imread(str(site_dir / "plans" / "ground.png"))
    (site_dir / "plans" / "ground.png").write_bytes(cv2.imencode(".jpg", plan)[1].tobytes())
    assert load_site(site_dir / "site.yaml").floor("ground").plan_size_px == (1200, 800)


# --------------------------------------------------------------------------- video files in check


def _write_video(path: Path, size: tuple[int, int] = (1280, 720)) -> None:
    """A short real video, by default the size the example site's outlines are drawn for."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, size)
    assert writer.isOpened()
    for k in range(5):
        writer.write(np.full((size[1], size[0], 3), 40 * k, np.uint8))
    writer.release()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"root:x:0:0:root:/root:/bin/bash\n", "a text file, not a video"),
        (real_jpeg(), "a still image (JPEG), not a video"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "not a known video container (it starts with"),
        (b"", "an empty file, not a video"),
    ],
    ids=["passwd", "jpeg", "binary", "empty"],
)
def test_check_refuses_a_camera_file_that_is_not_a_video(
    site_dir: Path,
    example_data: dict,
    content: bytes,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (site_dir / "clips").mkdir()
    (site_dir / "clips" / "east.mp4").write_bytes(content)
    _write_video(site_dir / "clips" / "west.mp4")
    example_data["cameras"][0]["source"] = "clips/east.mp4"
    example_data["cameras"][1]["source"] = "clips/west.mp4#t=0.2"
    path = write(site_dir, example_data)
    assert load_site(path).camera("cam-east").source_kind == "file"  # content not read here
    assert _check(["check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{path}: cameras[0].source: {expected}" + lines[0].split(expected)[1]]
    assert lines[0].endswith("(got 'clips/east.mp4')")


def test_check_passes_real_videos_and_says_streams_were_not_contacted(
    site_dir: Path, example_data: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    (site_dir / "clips").mkdir()
    _write_video(site_dir / "clips" / "east.mp4")
    example_data["cameras"][0]["source"] = "clips/east.mp4"
    example_data["cameras"][0]["substream"] = "clips/east.mp4"
    path = write(site_dir, example_data)
    assert _check(["check", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith(": ok\n")
    assert captured.err == (
        f"{path}: note: 2 cameras on a stream or USB not contacted "
        "(nightwatch watch SOURCE tries one)\n"
    )


def test_a_missing_substream_file_is_named(site_dir: Path, example_data: dict) -> None:
    example_data["cameras"][1]["substream"] = "clips/west-small.mp4#t=3"
    problems = problems_of(write(site_dir, example_data))
    assert any(
        "cameras[1].substream: video file not found at" in p and "west-small.mp4 (got" in p
        for p in problems
    ), problems
