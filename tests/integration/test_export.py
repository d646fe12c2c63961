"""`nightwatch export` and `nightwatch verify` on a real store, real snapshots (a photograph),
real files: what the CSV and JSON lines say (read back with Python's csv and json modules),
the PDF (rendered with poppler's pdftoppm), blurring, no camera password anywhere, the export
audited, and every change to an export's files found and named by the offline verifier."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy.orm import Session

from console.export.media import ExportedMedia
from console.export.query import ExportFilters, Incident
from console.export.run import ExportError, ExportRequest, export_incidents
from console.site_file import load_site
from console.store import Store, audit_entries
from tests.evidence import (
    NIGHT,
    PASSWORD,
    SUBJECT_BOX,
    Night,
    example_site,
    fill_night,
    signed_as,
    snapshot_jpeg,
)
from tests.media import media
from ui.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Night]:
    folder = tmp_path_factory.mktemp("night")
    site = example_site(folder)
    db = folder / "data" / "nightwatch.db"
    with Store(f"sqlite:///{db}") as store:
        filled = fill_night(store)
    return site, db, filled


@pytest.fixture(scope="module")
def exported(night: tuple[Path, Path, Night], tmp_path_factory: pytest.TempPathFactory) -> Path:
    site, db, _ = night
    out = tmp_path_factory.mktemp("exports") / "night-28"
    code = main(
        [
            "export",
            str(site),
            "--from",
            "2026-11-28",
            "--to",
            "2026-11-28",
            "--out",
            str(out),
            *signed_as("audrey"),
            "--db",
            f"sqlite:///{db}",
        ]
    )
    assert code == 0
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads accents right
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_export_folder_holds_what_the_manifest_lists(exported: Path) -> None:
    names = sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*") if p.is_file())
    assert names == [
        "incidents.csv",
        "incidents.jsonl",
        "manifest.json",
        "manifest.sig",
        "public_key.pem",
        "report.pdf",
        "snapshots/alarm-1-snapshot-1.jpg",
        "snapshots/alarm-2-snapshot-2.jpg",
        "steps.csv",
    ]
    manifest = json.loads((exported / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [
        n for n in names if n not in ("manifest.json", "manifest.sig", "public_key.pem")
    ]
    for entry in manifest["files"]:
        data = (exported / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert manifest["exported_by"] == "audrey"
    assert manifest["rows"] == {"incidents": 5, "steps": 16, "snapshots": 2, "media": 0}
    assert manifest["site"] == {"name": "Example Museum", "timezone": "Europe/Amsterdam"}
    assert manifest["filters"]["from"] == "2026-11-27T23:00:00.000000+00:00"  # local midnight
    assert manifest["filters"]["to"] == "2026-11-28T23:00:00.000000+00:00"  # the 28th included
    assert manifest["audit_head"]["seq"] > 1
    assert len(manifest["audit_head"]["hash"]) == 64
    assert (exported / "public_key.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_incidents_csv_round_trips_with_names_and_both_times(exported: Path) -> None:
    rows = read_csv(exported / "incidents.csv")
    assert [r["alarm_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    first = rows[0]
    assert first["camera"] == "East gallery"
    assert first["camera_id"] == "cam-east"
    assert (first["subject"], first["subject_kind"]) == ("The Milkmaid", "object")
    assert first["raised_local"] == "2026-11-28 22:00:00"  # Amsterdam, UTC+1
    assert first["raised_utc"] == "2026-11-28T21:00:00Z"
    assert (first["acknowledged_by"], first["ack_seconds"]) == ("ana", "12.0")
    assert (first["guard"], first["guard_id"], first["post"]) == ("Anna", "g-anna", "north stair")
    assert first["outcome"] == "visitor warned"
    assert first["note"] == "Visitor leaned over the rope, warned"  # a comma, quoted and back
    assert first["snapshot_file"] == "snapshots/alarm-1-snapshot-1.jpg"
    assert first["snapshot_state"] == "blurred"
    police = rows[1]
    assert (police["on_hold"], police["case_ref"]) == ("yes", "PC-2026-1128")
    assert police["subject_kind"] == "zone"
    # a note a spreadsheet would take for a formula is defused with a leading '
    assert rows[2]["note"] == "'-- nothing there, the cleaning crew"
    assert rows[3]["escalated"] == "yes"
    assert rows[3]["acknowledged_local"] == ""
    steps = read_csv(exported / "steps.csv")
    assert len(steps) == 16
    comment = next(s for s in steps if s["kind"] == "comment")
    # the comment's text comes back whole (inside a JSON cell, which no spreadsheet runs)
    assert json.loads(comment["detail"])["text"] == '=HYPERLINK("http://x") tried door'
    assert comment["user"] == "ben"
    dispatch = next(s for s in steps if s["kind"] == "dispatch")
    assert (dispatch["guard"], dispatch["at_local"]) == ("Anna", "2026-11-28 22:00:20")


def test_a_formula_in_a_cell_is_defused(tmp_path: Path) -> None:
    from console.export.tables import cell

    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert cell("+31 20 1234") == "'+31 20 1234"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("visitor warned") == "visitor warned"
    assert cell(12.5) == 12.5


def test_json_lines_hold_each_incident_with_its_steps(exported: Path) -> None:
    lines = (exported / "incidents.jsonl").read_text(encoding="utf-8").splitlines()
    incidents = [json.loads(line) for line in lines]
    assert [i["alarm_id"] for i in incidents] == [1, 2, 3, 4, 5]
    first = incidents[0]
    assert first["camera"] == {"id": "cam-east", "name": "East gallery"}
    assert [s["kind"] for s in first["steps"]] == [
        "raise",
        "acknowledge",
        "dispatch",
        "arrive",
        "resolve",
    ]
    assert first["raised_at"] == {
        "utc": "2026-11-28T21:00:00.000000+00:00",
        "local": "2026-11-28T22:00:00+01:00",
    }
    assert first["sightings"][0]["closest_m"] == 0.3
    assert first["dispatches"][0]["guard"] == {"id": "g-anna", "name": "Anna"}
    snap = first["snapshots"][0]
    assert snap["state"] == "blurred"
    assert snap["sha256_stored"] != snap["sha256_exported"]
    assert incidents[1]["holds"][0]["case_ref"] == "PC-2026-1128"
    assert incidents[2]["note"] == "-- nothing there, the cleaning crew"  # JSON keeps it as is
    assert sum(len(i["steps"]) for i in incidents) == 16


def test_no_camera_password_reaches_any_exported_file(exported: Path) -> None:
    for path in exported.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    text = subprocess.run(
        ["pdftotext", str(exported / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "viewer:***@cam-west" in text  # the note's URL is there, masked
    assert PASSWORD not in text


def test_the_pdf_renders(exported: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(exported / "report.pdf"), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2  # the cover with its charts, then the incidents
    cover = cv2.imread(str(pages[0]))
    assert cover is not None
    # the charts' bars are drawn in blue (52, 101, 164): some of the cover is that colour
    blue = np.all(np.abs(cover.astype(int) - (164, 101, 52)) < 30, axis=2)
    assert blue.mean() > 0.01
    text = subprocess.run(
        ["pdftotext", str(exported / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = " ".join(text.split())
    assert "Incident report: Example Museum" in words
    assert "Alarm 2: presence after hours, West gallery (West gallery)" in words
    assert "police investigation, case PC-2026-1128" in words


def test_bystanders_are_blurred_and_the_subject_kept(exported: Path, night) -> None:
    stored = cv2.imdecode(np.frombuffer(snapshot_jpeg(SUBJECT_BOX), np.uint8), cv2.IMREAD_COLOR)
    out = cv2.imread(str(exported / "snapshots" / "alarm-1-snapshot-1.jpg"))
    assert out is not None
    assert out.shape == stored.shape
    x1, y1, x2, y2 = SUBJECT_BOX
    inside = np.abs(out[y1:y2, x1:x2].astype(int) - stored[y1:y2, x1:x2].astype(int)).mean()
    assert inside < 4  # the subject as stored (up to JPEG re-encoding)

    def sharpness(img: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    # the people on the right of bus.jpg (bystanders): blurred beyond their detail
    right = (slice(400, 900), slice(600, 800))
    assert sharpness(out[right]) < sharpness(stored[right]) / 10


def test_the_export_is_audited_with_its_manifest(exported: Path, night) -> None:
    _site, db, _ = night
    with Store(f"sqlite:///{db}", read_only=True) as reader:
        [entry] = reader.read(audit_entries, action="export.created")
    assert entry.user == "audrey"
    manifest = (exported / "manifest.json").read_bytes()
    assert entry.detail["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert entry.detail["rows"]["incidents"] == 5


def test_filters_progress_and_no_blur(night, tmp_path: Path) -> None:
    site_path, db, filled = night
    site = load_site(site_path)
    seen: list[tuple[str, int, int]] = []
    with Store(f"sqlite:///{db}") as store:
        request = ExportRequest(
            ExportFilters(NIGHT.replace(hour=0), NIGHT.replace(hour=23), operators=("ben",)),
            ("csv", "jsonl"),
            tmp_path / "ben",
            "audrey",
            blur=False,
        )
        result = export_incidents(store, site, request, progress=lambda *args: seen.append(args))
        assert result.incidents == 1
        rules = ExportRequest(
            ExportFilters(NIGHT.replace(hour=0), NIGHT.replace(hour=23), rules=("proximity",)),
            ("jsonl",),
            tmp_path / "proximity",
            "audrey",
        )
        assert export_incidents(store, site, rules).incidents == 2
        with pytest.raises(ExportError, match="the folder is not empty"):
            export_incidents(store, site, rules)
        pdf = ExportRequest(rules.filters, ("pdf",), tmp_path / "pdf", "audrey")
        with pytest.raises(ExportError, match="window toolkit"):
            export_incidents(store, site, pdf)
    [incident] = [json.loads(x) for x in (tmp_path / "ben" / "incidents.jsonl").open()]
    assert incident["alarm_id"] == filled.police
    exported = tmp_path / "ben" / incident["snapshots"][0]["file"]
    assert (
        hashlib.sha256(exported.read_bytes()).hexdigest()
        == incident["snapshots"][0]["sha256_stored"]
    )  # not blurred: the stored bytes
    assert seen[-1][0] == "manifest"
    incidents = [s for s in seen if s[0] == "incidents"]
    assert incidents[-1] == ("incidents", 1, 1)


def test_filters_by_object_zone_and_floor_checked_against_the_site(night, tmp_path: Path) -> None:
    site_path, db, filled = night
    site = load_site(site_path)
    day = (NIGHT.replace(hour=0), NIGHT.replace(hour=23))
    with Store(f"sqlite:///{db}") as store:
        by_subject = ExportFilters.for_site(site, *day, subjects=("milkmaid", "west-gallery"))
        request = ExportRequest(by_subject, ("jsonl",), tmp_path / "two", "audrey")
        assert export_incidents(store, site, request).incidents == 2
        whole_floor = ExportFilters.for_site(site, *day, floors=("ground",))
        request = ExportRequest(whole_floor, ("jsonl",), tmp_path / "floor", "audrey")
        assert export_incidents(store, site, request).incidents == 5
    ids = [json.loads(x)["alarm_id"] for x in (tmp_path / "two" / "incidents.jsonl").open()]
    assert ids == [filled.resolved, filled.police]
    with pytest.raises(
        ValueError, match=r"no floor 'attic' in the site 'Example Museum' \(known: ground\)"
    ):
        ExportFilters.for_site(site, *day, floors=("attic",))
    with pytest.raises(ValueError, match="no protected object or zone 'vault'"):
        ExportFilters.for_site(site, *day, subjects=("vault",))
    period = ["--from", "2026-11-28", "--to", "2026-11-28", "--db", f"sqlite:///{db}"]
    out = tmp_path / "west"
    zone = ["--zone", "west-gallery", "--out", str(out), "--format", "csv,jsonl"]
    code = main(["export", str(site_path), *period, *zone, *signed_as("audrey")])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["incidents"] == 1
    assert manifest["filters"]["subjects"] == ["west-gallery"]
    refused = ["--floor", "attic", "--out", str(tmp_path / "attic")]
    assert main(["export", str(site_path), *period, *refused, *signed_as("audrey")]) == 1
    assert not (tmp_path / "attic").exists()


class StoredFootage:
    """An evidence source of this test's own, standing in for the clips' code (another
    branch's): real footage (vtest.avi) as the clip of one incident, checked against its SHA-256
    and copied; the clip of another incident purged; the rest have none."""

    def __init__(self, with_clip: int, purged: int) -> None:
        self.with_clip = with_clip
        self.purged = purged
        self.source = media("vtest.avi")
        self.sha256 = hashlib.sha256(self.source.read_bytes()).hexdigest()
        self.sessions: set[int] = set()

    def export(
        self, session: Session, incident: Incident, out_dir: Path, *, blur: bool
    ) -> list[ExportedMedia]:
        self.sessions.add(id(session))
        if incident.id == self.purged:
            return [ExportedMedia("clip", None, "purged", self.sha256, note="purged 2026-12-28")]
        if incident.id != self.with_clip:
            return []
        name = f"clips/alarm-{incident.id}.avi"
        (out_dir / "clips").mkdir(exist_ok=True)
        shutil.copyfile(self.source, out_dir / name)
        return [ExportedMedia("clip", name, "exported", self.sha256, self.sha256)]


def test_evidence_beyond_snapshots_is_exported_signed_and_checked(
    night, tmp_path: Path, capsys
) -> None:
    site_path, db, filled = night
    site = load_site(site_path)
    footage = StoredFootage(filled.resolved, filled.police)
    out = tmp_path / "with-clips"
    filters = ExportFilters(NIGHT.replace(hour=0), NIGHT.replace(hour=23))
    with Store(f"sqlite:///{db}") as store:
        request = ExportRequest(filters, ("csv", "jsonl"), out, "audrey", blur=False)
        result = export_incidents(store, site, request, media=[footage])
    assert result.media == 1
    assert len(footage.sessions) == 1  # every incident in the export's one read transaction
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["media"] == 1
    [clip] = [f for f in manifest["files"] if f["path"].startswith("clips/")]
    assert clip == {
        "path": f"clips/alarm-{filled.resolved}.avi",
        "sha256": footage.sha256,
        "size": footage.source.stat().st_size,
    }
    lines = {x["alarm_id"]: x for x in map(json.loads, (out / "incidents.jsonl").open())}
    assert lines[filled.resolved]["media"] == [
        {
            "kind": "clip",
            "file": clip["path"],
            "state": "exported",
            "note": None,
            "sha256_stored": footage.sha256,
            "sha256_exported": footage.sha256,
        }
    ]
    assert lines[filled.police]["media"][0]["state"] == "purged"
    assert lines[filled.open_alarm]["media"] == []
    rows = {int(r["alarm_id"]): r for r in read_csv(out / "incidents.csv")}
    assert rows[filled.resolved]["media"] == f"clip: {clip['path']} (exported)"
    assert rows[filled.police]["media"] == "clip: purged (purged 2026-12-28)"
    code, text = check(out, capsys)
    assert code == 0, text
    with (out / clip["path"]).open("r+b") as stream:  # one byte of the footage flipped
        stream.seek(4096)
        byte = stream.read(1)
        stream.seek(4096)
        stream.write(bytes([byte[0] ^ 0xFF]))
    code, text = check(out, capsys)
    assert code == 1
    assert f"{clip['path']}: altered" in text
    with pytest.raises(ValueError, match="not a path inside the export"):
        ExportedMedia("clip", "../elsewhere.avi", "exported")


# --------------------------------------------------------------------- the offline verifier


@pytest.fixture
def copy(exported: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(exported, target)
    return target


def check(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["verify", str(folder), *extra])
    return code, capsys.readouterr().out


def test_an_untouched_export_verifies(copy: Path, capsys) -> None:
    code, out = check(copy, capsys)
    assert code == 0, out
    assert out.startswith(f"ok: {copy}: signature good, 6 file(s) as signed")
    assert "compare it with the console's own" in out


@pytest.mark.parametrize(
    "name",
    [
        "incidents.csv",
        "steps.csv",
        "incidents.jsonl",
        "report.pdf",
        "snapshots/alarm-1-snapshot-1.jpg",
    ],
)
def test_each_file_edited_deleted_added_or_renamed_is_named(copy: Path, name: str, capsys) -> None:
    target = copy / name
    original = target.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    target.write_bytes(bytes(flipped))
    code, out = check(copy, capsys)
    assert code == 1
    assert f"[altered] {name}: altered (its SHA-256 is" in out
    assert "same size" in out

    target.unlink()
    code, out = check(copy, capsys)
    assert code == 1
    assert f"[missing] {name}: missing (deleted)" in out

    target.write_bytes(original)
    extra = copy / "snapshots" / "extra.jpg"
    extra.write_bytes(b"\xff\xd8 planted \xff\xd9")
    code, out = check(copy, capsys)
    assert code == 1
    assert "[added] snapshots/extra.jpg: added (not in the signed manifest)" in out
    assert name not in out.split("FAILED")[1].split("signed by")[0]
    extra.unlink()

    renamed = target.with_name("renamed-" + target.name)
    target.rename(renamed)
    code, out = check(copy, capsys)
    assert code == 1
    relative = renamed.relative_to(copy).as_posix()
    assert f"[renamed] {name}: renamed to {relative} (same content)" in out


def test_an_edited_manifest_fails_its_signature(copy: Path, capsys) -> None:
    manifest = copy / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"audrey"', '"mallory"'))
    code, out = check(copy, capsys)
    assert code == 1
    assert "[signature] manifest.json: the signature does not verify" in out


def test_a_manifest_re_signed_by_another_key_is_refused_given_the_console_key(
    copy: Path, tmp_path: Path, capsys
) -> None:
    from console.store import default_keys_dir, load_audit_keys
    from console.store.keys import b64

    forger = load_audit_keys(tmp_path / "forger-keys")
    manifest = copy / "manifest.json"
    data = manifest.read_text().replace('"audrey"', '"mallory"').encode()
    manifest.write_bytes(data)
    (copy / "manifest.sig").write_text(b64(forger.sign(data)))
    (copy / "public_key.pem").write_bytes(forger.public_pem)
    code, out = check(copy, capsys)
    assert code == 1  # the manifest names the console's key, not the forger's
    assert "[key] public_key.pem: its fingerprint" in out
    # a careful forger names their own key in the manifest too: the export "verifies" against
    # the key shipped inside it, and the verifier says whose key that is
    manifest_json = json.loads(data)
    manifest_json["public_key"]["fingerprint"] = forger.fingerprint
    data = json.dumps(manifest_json, indent=2, sort_keys=True).encode()
    manifest.write_bytes(data)
    (copy / "manifest.sig").write_text(b64(forger.sign(data)))
    code, out = check(copy, capsys)
    assert code == 0
    assert f"signed by the key {forger.fingerprint} (from public_key.pem in the export" in out
    console_key = tmp_path / "console.pem"
    console_key.write_bytes((default_keys_dir() / "signing.pub").read_bytes())
    code, out = check(copy, capsys, "--public-key", str(console_key))
    assert code == 1
    assert "the signature does not verify with the key given" in out


def test_verify_needs_no_store_and_no_qt(exported: Path) -> None:
    code = (
        "import sys\n"
        "from console.cli import main\n"
        f"rc = main(['verify', {str(exported)!r}])\n"
        "loaded = sorted(m for m in ('sqlalchemy', 'PySide6', 'console.store') "
        "if m in sys.modules)\n"
        "print('LOADED', ','.join(loaded), 'RC', rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "LOADED  RC 0"


def test_export_without_pdf_never_imports_qt(night, tmp_path: Path) -> None:
    site, db, _ = night
    sign_in = signed_as("audrey")  # --user audrey --password-fd N (a pipe, passed on)
    code = (
        "import sys\n"
        "from ui.cli import main\n"
        f"rc = main(['export', {str(site)!r}, '--from', '2026-11-28', '--to', '2026-11-28', "
        f"'--out', {str(tmp_path / 'x')!r}, '--format', 'csv,jsonl', *{sign_in!r}, "
        f"'--db', {f'sqlite:///{db}'!r}])\n"
        "print('QT', 'PySide6' in sys.modules, 'RC', rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        pass_fds=(int(sign_in[-1]),),
    ).stdout
    assert out.strip().splitlines()[-1] == "QT False RC 0"


def test_holds_from_the_command_line_and_who_may(night, capsys) -> None:
    """An auditor places and releases a hold; an operator is refused, and the refusal audited."""
    _site, db, filled = night
    url = f"sqlite:///{db}"
    code = main(
        [
            "hold",
            "add",
            str(filled.false_alarm),
            "--reason",
            "insurer asked",
            "--case",
            "INS-9",
            *signed_as("audrey"),
            "--db",
            url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"alarm {filled.false_alarm} case INS-9: insurer asked (placed by audrey" in out
    hold_id = int(out.split(":")[0].removeprefix("hold "))
    code = main(["hold", "release", str(hold_id), *signed_as("monitor-1"), "--db", url])
    err = capsys.readouterr().err
    assert code == 1
    assert "monitor-1 (operator) may not keep an incident's evidence past retention" in err
    assert main(["hold", "list", "--db", url]) == 0
    assert f"hold {hold_id}: alarm {filled.false_alarm}" in capsys.readouterr().out
    code = main(
        ["hold", "release", str(hold_id), "--reason", "paid", *signed_as("boss"), "--db", url]
    )
    assert code == 0
    assert "released by boss" in capsys.readouterr().out
    with Store(url, read_only=True) as reader:
        refusals = reader.read(audit_entries, action="permission.refused")
        holds = [e.action for e in reader.read(audit_entries) if e.action.startswith("hold.")]
    assert [(r.user, r.detail["act"]) for r in refusals][-1] == ("monitor-1", "hold_evidence")
    assert holds[-2:] == ["hold.place", "hold.release"]
