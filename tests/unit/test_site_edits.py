"""Editing a site: outlines checked against the camera's frame, calibrations against what their
camera guards, and `save_site`: an invalid edit refused with a clear message and nothing saved; a
valid one written atomically beside its numbered previous versions and recorded (who, digests,
a readable diff). Real files, a real SQLite store, real videos."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from console.site_apply import readable_diff, save_site, site_to_yaml, versions_beside
from console.site_file import SiteFileError, load_site, read_site_text
from console.store import Store, audit_entries, list_config_changes
from console.store.config_changes import digest
from tests.sites import courtyard_site

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "data" / "example_site"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(f"sqlite:///{tmp_path / 'console.db'}", snapshots_dir=tmp_path / "snaps") as s:
        yield s


def edited(path: Path, change) -> str:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def nightwatch(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


# --------------------------------------------------------------------------- outlines and frames


def test_an_outline_outside_the_declared_frame_is_refused(site_dir: Path) -> None:
    """The issue's case: an artwork outline at x 3000-3600 on a 640 x 360 camera."""

    def change(data: dict) -> None:
        data["cameras"][0]["frame_size_px"] = [640, 360]
        data["cameras"][0].pop("calibration")
        data["protected_objects"][0]["image_regions"]["cam-east"] = [
            [3000, 100], [3600, 100], [3600, 300], [3000, 300],
        ]  # fmt: skip

    (site_dir / "site.yaml").write_text(edited(site_dir / "site.yaml", change))
    with pytest.raises(SiteFileError) as refused:
        load_site(site_dir / "site.yaml")
    assert refused.value.problems == [
        f"{site_dir / 'site.yaml'}: protected_objects[0].image_regions.cam-east[0]: outside the "
        "640 x 360 px frame of camera 'cam-east': the whole outline lies outside it, so it is "
        "never watched there (got [3000, 100])"
    ]
    done = nightwatch("check", str(site_dir / "site.yaml"))
    assert done.returncode == 1
    assert "outside the 640 x 360 px frame of camera 'cam-east'" in done.stdout


def test_check_reads_a_video_cameras_frame_size(tmp_path: Path) -> None:
    site = courtyard_site(tmp_path)  # vtest.avi, 768 x 576
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("[480, 180], [480, 260]", "[900, 180], [900, 260]"))
    done = nightwatch("check", str(site))
    assert done.returncode == 1
    assert (
        "protected_objects[0].image_regions.cam-path[1]: outside the 768 x 576 px frame of "
        "camera 'cam-path': 2 of its 4 points lie outside it (never watched) (got [900, 180])"
    ) in done.stdout
    # loading without probing (the console's start) cannot know the size: not refused there
    assert load_site(site).camera("cam-path").frame_size is None
    # a declared size that differs from the video's is itself refused
    site.write_text(text.replace("plan_position: [300, 300]", "frame_size_px: [640, 360]"))
    done = nightwatch("check", str(site))
    assert "cameras[0].frame_size_px: the camera's video is 768 x 576 px (got [640, 360])" in (
        done.stdout
    )


def test_a_calibration_that_misses_the_object_it_guards_is_a_warning(site_dir: Path) -> None:
    def change(data: dict) -> None:
        data["cameras"][0]["frame_size_px"] = [1280, 720]
        data["cameras"][1]["frame_size_px"] = [1280, 720]
        # the Milkmaid's plan outline drawn in the west gallery, its image region still east
        data["protected_objects"][0]["plan_polygon"] = [[200, 44], [320, 44], [320, 54], [200, 54]]
        # the dancer moved into the corridor, where no calibrated camera looks
        data["protected_objects"][2]["plan_polygon"] = [
            [300, 600], [340, 600], [340, 640], [300, 640],
        ]  # fmt: skip

    (site_dir / "site.yaml").write_text(edited(site_dir / "site.yaml", change))
    done = nightwatch("check", str(site_dir / "site.yaml"))
    assert done.returncode == 0, done.stdout  # warnings, not problems
    warnings = [line for line in done.stdout.splitlines() if ": warning: protected_objects" in line]
    assert warnings == [
        f"{site_dir / 'site.yaml'}: warning: protected_objects[0].plan_polygon: camera "
        "'cam-east' guards 'milkmaid' (it has its image region) but its calibrated view of the "
        "floor does not cover the object's plan outline: check cameras[0].calibration or the "
        "outline",
        f"{site_dir / 'site.yaml'}: warning: protected_objects[2].plan_polygon: no calibrated "
        "camera's view of the floor reaches 'bronze-dancer', and it has no image region: "
        "nothing watches it",
    ]
    # the reference site, as it is, has neither
    done = nightwatch("check", str(EXAMPLE / "site.yaml"))
    assert "warning: protected_objects" not in done.stdout


# --------------------------------------------------------------------------- save_site


def _nothing_saved(site_dir: Path, before: bytes, store: Store) -> None:
    assert (site_dir / "site.yaml").read_bytes() == before
    assert versions_beside(site_dir / "site.yaml") == []
    assert [p.name for p in site_dir.iterdir() if p.name.startswith(".")] == []  # no temp file
    assert store.read(list_config_changes) == []
    assert [e.action for e in store.read(audit_entries)] == ["audit.keyed", "store.open"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["zones"][0].update(
                plan_polygon=[[604, 44], [1156, 556], [1156, 44], [604, 556]]
            ),
            "zones[0].plan_polygon: the polygon's edges cross each other",
        ),
        (
            lambda d: d["cameras"][0]["calibration"].update(
                image=[[80, 700], [1200, 690], [960, 330]],
                plan=[[640, 540], [1140, 540], [1140, 90]],
            ),
            "cameras[0].calibration.image: needs at least 4 points (got 3)",
        ),
        (
            lambda d: (
                d["cameras"][0].update(frame_size_px=[640, 360]),
                d["protected_objects"][0]["image_regions"].update(
                    {"cam-east": [[3000, 100], [3600, 100], [3600, 300], [3000, 300]]}
                ),
            ),
            "protected_objects[0].image_regions.cam-east[0]: outside the 640 x 360 px frame",
        ),
        (
            lambda d: d["protected_objects"][1]["image_regions"].update(
                {"cam-attic": [[1, 1], [50, 1], [50, 50]]}
            ),
            "protected_objects[1].image_regions.cam-attic: no camera with this id (got "
            "'cam-attic')",
        ),
    ],
    ids=["self-intersecting", "three-calibration-points", "outside-the-frame", "unknown-camera"],
)
def test_an_invalid_edit_is_refused_clearly_and_nothing_is_saved(
    site_dir: Path, store: Store, change, message: str
) -> None:
    path = site_dir / "site.yaml"
    before = path.read_bytes()
    report = save_site(path, edited(path, change), "ana", store)
    assert not report.saved
    assert any(message in p for p in report.problems), report.problems
    assert all(p.startswith(f"{path}: ") for p in report.problems)
    store.flush()
    _nothing_saved(site_dir, before, store)


def test_a_valid_edit_is_written_atomically_kept_numbered_and_recorded(
    site_dir: Path, store: Store
) -> None:
    path = site_dir / "site.yaml"
    original = read_site_text(path)
    inode = path.stat().st_ino
    texts = [original]
    for n in range(1, 5):  # the Milkmaid's distance: 0.8 -> 0.9 -> 1.0 -> 1.1 -> 1.2
        was, now = round(0.7 + n / 10, 1), round(0.8 + n / 10, 1)
        text = texts[-1].replace(f"min_distance_m: {was}", f"min_distance_m: {now}", 1)
        assert text != texts[-1]
        report = save_site(path, text, f"user{n}", store, keep=3)
        assert report.saved, report.problems
        assert report.backup == site_dir / "site.yaml.1"
        if n == 1:  # a new file renamed over the name; the old one kept as it was
            assert path.stat().st_ino != inode
            assert (site_dir / "site.yaml.1").stat().st_ino == inode
        texts.append(text)
    # the newest text in place, the last 3 kept, numbered
    assert read_site_text(path) == texts[-1]
    assert versions_beside(path) == [site_dir / f"site.yaml.{n}" for n in (1, 2, 3)]
    assert [read_site_text(p) for p in versions_beside(path)] == texts[-2:-5:-1]
    assert not [p for p in site_dir.iterdir() if p.name.startswith(".")]  # no temp files left
    store.flush()
    changes = store.read(list_config_changes)
    assert [(c.user, c.before_digest, c.after_digest) for c in changes] == [
        (f"user{n}", digest(texts[n - 1]), digest(texts[n])) for n in range(1, 5)
    ]
    edits = [e for e in store.read(audit_entries) if e.action == "site.edit"]
    assert [e.user for e in edits] == ["user1", "user2", "user3", "user4"]
    diff = edits[0].detail["diff"]
    assert "-    min_distance_m: 0.8" in diff
    assert "+    min_distance_m: 0.9" in diff
    assert edits[0].detail["before"] == digest(texts[0])


def test_a_save_over_someone_elses_change_is_refused(site_dir: Path, store: Store) -> None:
    path = site_dir / "site.yaml"
    opened = digest(read_site_text(path))
    theirs = read_site_text(path).replace("Example Museum", "Their Museum")
    assert save_site(path, theirs, "ben", store).saved
    mine = read_site_text(site_dir / "site.yaml.1").replace("Example Museum", "My Museum")
    report = save_site(path, mine, "ana", store, expected_digest=opened)
    assert not report.saved
    assert "the file changed since it was opened" in report.problems[0]
    assert read_site_text(path) == theirs


def test_the_same_text_is_no_change_and_the_role_hook_can_refuse(
    site_dir: Path, store: Store
) -> None:
    path = site_dir / "site.yaml"
    report = save_site(path, read_site_text(path), "ana", store)
    assert (report.saved, report.unchanged) == (False, True)

    def only_supervisors(user: str) -> None:
        if user != "sam":
            raise PermissionError(f"{user} may not change the console's configuration")

    text = read_site_text(path).replace("Example Museum", "Renamed")
    refused = save_site(path, text, "olga", store, authorize=only_supervisors)
    assert not refused.saved
    assert refused.problems == (f"{path}: olga may not change the console's configuration",)
    assert save_site(path, text, "sam", store, authorize=only_supervisors).saved


def test_a_site_saved_from_the_model_loads_back_the_same(site_dir: Path, store: Store) -> None:
    path = site_dir / "site.yaml"
    site = load_site(path)
    text = site_to_yaml(site)
    assert '"10:00-17:00"' in text
    assert "[640, 540]" in text
    report = save_site(path, site, "ana", store)
    assert report.saved, report.problems
    assert load_site(path).model_dump() == site.model_dump()


def test_the_readable_diff_masks_credentials_and_is_bounded() -> None:
    before = "source: rtsp://cam.example/stream\n"
    after = "source: rtsp://admin:hunter2@cam.example/stream\n"
    diff = readable_diff(before, after)
    assert "hunter2" not in diff
    assert "admin" not in diff
    assert "+source: rtsp://***@cam.example/stream" in diff
    huge = readable_diff("", "\n".join(f"line {i}" for i in range(5000)))
    assert len(huge) <= 16_100
    assert huge.splitlines()[-1].endswith("more lines of diff not shown")


# --------------------------------------------------------------------------- the command line


def test_site_apply_from_an_edited_copy(site_dir: Path, tmp_path: Path) -> None:
    path = site_dir / "site.yaml"
    db = f"sqlite:///{tmp_path / 'console.db'}"
    copy = tmp_path / "edited.yaml"
    copy.write_text(read_site_text(path).replace("Example Museum", "Example Museum (new wing)"))
    done = nightwatch("site", "apply", str(path), "--from", str(copy), "--user", "ana", "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "saved by ana" in done.stdout
    assert "+  name: Example Museum (new wing)" in done.stdout
    assert load_site(path).site.name == "Example Museum (new wing)"
    assert (site_dir / "site.yaml.1").is_file()
    with Store(db, read_only=True) as store:
        assert [c.user for c in store.read(list_config_changes)] == ["ana"]
    # a bad copy: refused, listed, nothing written
    copy.write_text(read_site_text(path).replace("kind: gallery", "kind: lobby", 1))
    before = path.read_bytes()
    done = nightwatch("site", "apply", str(path), "--from", str(copy), "--user", "ana", "--db", db)
    assert done.returncode == 1
    assert "zones[0].kind: should be" in done.stdout
    assert path.read_bytes() == before
    assert versions_beside(path) == [site_dir / "site.yaml.1"]


def test_site_apply_beside_a_running_console_leaves_a_note(site_dir: Path, tmp_path: Path) -> None:
    from console.site_apply import saved_by_note

    path = site_dir / "site.yaml"
    db = f"sqlite:///{tmp_path / 'console.db'}"
    copy = tmp_path / "edited.yaml"
    new = read_site_text(path).replace("Example Museum", "Example Museum (new wing)")
    copy.write_text(new)
    with Store(db):  # a console holds the database
        done = nightwatch(
            "site", "apply", str(path), "--from", str(copy), "--user", "ana", "--db", db
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a console runs on this database" in done.stdout
    assert read_site_text(path) == new
    assert saved_by_note(path, digest(new) or "") == "ana"  # the console's watch records ana
    assert saved_by_note(path, digest("other text") or "") is None
