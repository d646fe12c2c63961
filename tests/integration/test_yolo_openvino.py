"""YOLO on the CPU through OpenVINO: export once, cache by the weights' hash, run without torch.

Plumbing only: no trained YOLO weights exist offline, so the network here is an untrained one
built from "yolo11n.yaml" and saved as a .pt (imported with its hash vouched for, as a
supervisor would). Its boxes mean nothing; their number, class and place in the image are what
the backend guarantees. The pre- and post-processing are checked against ultralytics' own
functions. Skipped with the reason when ultralytics cannot export offline.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference import models
from inference.detections import PERSON_CLASS_ID, box_iou
from inference.detectors.base import DetectorUnavailable
from inference.detectors.yolo import prepare_ultralytics_environment
from tests.media import media, ultralytics_asset

# find_spec, not importorskip: importing openvino here would bypass the telemetry block
if importlib.util.find_spec("openvino") is None:
    pytest.skip("openvino is not installed (pip install openvino)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = "people-untrained.pt"
SIZE = 320


@pytest.fixture(scope="module", autouse=True)
def offline_ultralytics(tmp_path_factory):
    if "YOLO_CONFIG_DIR" not in os.environ:
        os.environ["YOLO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("yolo-config"))
    prepare_ultralytics_environment(offline=True)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Iterator[Path]:
    """A models dir holding the untrained network as a .pt a supervisor pinned."""
    from ultralytics import YOLO

    folder = tmp_path_factory.mktemp("models")
    built = tmp_path_factory.mktemp("built") / WEIGHTS
    YOLO("yolo11n.yaml").save(built)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(models.MODELS_DIR_ENV, str(folder))
        digest = models.file_sha256(built)
        models.import_weights(built, sha256=digest)
        models.trust(digest, source="built by this test from yolo11n.yaml (untrained)")
        (installed,) = [m for m in models.installed() if m.sha256 == digest]
        assert installed.trusted
        yield folder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def detector(models_dir, cache_dir):
    from inference.detectors.yolo_openvino import YoloOpenVinoDetector

    try:
        return YoloOpenVinoDetector(
            WEIGHTS, threads=2, confidence=0.0, image_size=SIZE, cache_dir=cache_dir
        )
    except DetectorUnavailable as exc:
        if "could not export" in str(exc):
            pytest.skip(f"ultralytics cannot export to OpenVINO here: {exc}")
        raise


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    paths = [
        ultralytics_asset("bus.jpg"),
        ultralytics_asset("zidane.jpg"),
        media("messi5.jpg"),
        media("basketball1.png"),
        media("fruits.jpg"),
    ]
    return [cv2.imread(str(p)) for p in paths]


def test_each_photo_gets_person_boxes_inside_it(detector, photos) -> None:
    found = detector.detect(photos)
    assert len(found) == len(photos)
    for dets, image in zip(found, photos, strict=True):
        assert len(dets) > 0  # a zero threshold keeps candidates in every image
        assert set(dets.class_id.tolist()) == {PERSON_CLASS_ID}
        assert np.all(dets.track_id == -1)
        height, width = image.shape[:2]
        assert np.all(dets.xyxy[:, :2] >= 0)
        assert np.all(dets.xyxy[:, 2] <= width)
        assert np.all(dets.xyxy[:, 3] <= height)
        assert np.all(dets.xyxy[:, 2] >= dets.xyxy[:, 0])
        assert len(dets) <= detector.max_detections
    assert detector.detect([]) == []


def test_a_batch_equals_one_by_one(detector, photos) -> None:
    batch = detector.detect(photos)
    for image, dets in zip(photos, batch, strict=True):
        (alone,) = detector.detect([image])
        np.testing.assert_allclose(dets.xyxy, alone.xyxy, atol=1e-3)
        np.testing.assert_allclose(dets.confidence, alone.confidence, atol=1e-6)


def test_info_and_cache_folder(detector, cache_dir) -> None:
    assert detector.info.backend == "yolo"
    assert detector.info.model == WEIGHTS
    assert detector.info.device == "cpu"
    assert detector.info.runtime.startswith("OpenVINO")
    assert detector.input_hw == (SIZE, SIZE)
    sha = models.file_sha256(models.resolve_weights(WEIGHTS))
    assert detector.cache_folder == cache_dir / f"yolo-{sha}-{SIZE}px-openvino-v1"
    assert sorted(p.name for p in detector.cache_folder.iterdir()) == [
        "checksums.json",
        "metadata.yaml",
        "model.bin",
        "model.xml",
    ]
    assert not list(models.models_dir().glob("*openvino*"))  # the export never lands there
    assert len(list(cache_dir.glob(f"{detector.cache_folder.name}-compiled-*"))) == 1


def test_a_grey_image_is_refused(detector, photos) -> None:
    with pytest.raises(ValueError, match="BGR"):
        detector.detect([cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY)])


def test_the_cached_export_runs_without_torch_and_without_telemetry(
    detector, models_dir, cache_dir, tmp_path
) -> None:
    """A fresh worker finds the export in the cache: it never imports torch or ultralytics,
    and OpenVINO writes nothing under the user's home."""
    stamp = (detector.cache_folder / "model.bin").stat().st_mtime_ns
    (compiled,) = cache_dir.glob(f"{detector.cache_folder.name}-compiled-*")
    compiled_stamp = (compiled / "compiled.blob").stat().st_mtime_ns
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from inference.detectors.yolo_openvino import YoloOpenVinoDetector\n"
        "from tests.photo_truth import PEOPLE_PHOTOS\n"
        f"d = YoloOpenVinoDetector({WEIGHTS!r}, confidence=0.0, image_size={SIZE}, "
        f"cache_dir=Path({str(cache_dir)!r}))\n"
        "print('found', len(d.detect([PEOPLE_PHOTOS[0].load()])[0]))\n"
        "print('heavy', [m for m in ('torch', 'ultralytics') if m in sys.modules])\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, models.MODELS_DIR_ENV: str(models_dir), "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "heavy []" in done.stdout
    assert int(done.stdout.split("found ")[1].split()[0]) > 0
    assert (detector.cache_folder / "model.bin").stat().st_mtime_ns == stamp  # reused
    assert (compiled / "compiled.blob").stat().st_mtime_ns == compiled_stamp  # imported
    assert not (home / "intel").exists()


def test_the_export_itself_sends_no_telemetry(models_dir, tmp_path) -> None:
    """ultralytics' exporter calls openvino.convert_model, which reports usage unless the
    telemetry package is blocked before openvino is imported."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "from pathlib import Path\n"
        "from inference.detectors.yolo_openvino import YoloOpenVinoDetector\n"
        f"d = YoloOpenVinoDetector({WEIGHTS!r}, image_size=64, cache_dir=Path({str(tmp_path)!r}))\n"
        "print('ready', d.info.runtime)\n"
    )
    env = {
        **os.environ,
        models.MODELS_DIR_ENV: str(models_dir),
        "HOME": str(home),
        "YOLO_CONFIG_DIR": str(tmp_path / "yolo-config"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, timeout=300
    )
    if done.returncode and "could not export" in done.stderr:
        pytest.skip(f"ultralytics cannot export here: {done.stderr[-500:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ready OpenVINO" in done.stdout
    assert not (home / "intel").exists()


# -- the choice -------------------------------------------------------------------------------


def test_yolo_on_the_cpu_runs_through_openvino_unless_asked_otherwise(
    detector, models_dir, tmp_path, monkeypatch
):
    from inference.detectors.loading import load_detector

    # the default 640 px: a second export, into the user cache dir (a throwaway one here)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    chosen = load_detector("yolo", weights=WEIGHTS, device="cpu")
    assert chosen.info.runtime.startswith("OpenVINO")
    assert load_detector("auto", weights=WEIGHTS, device="cpu").info.runtime.startswith("OpenVINO")
    plain = load_detector("yolo-ultralytics", weights=WEIGHTS, device="cpu")
    assert plain.info.runtime == "ultralytics, PyTorch"
    assert len(list((tmp_path / "nightwatch" / "models").glob("yolo-*-640px-openvino-v1"))) == 1
    with pytest.raises(DetectorUnavailable, match="CPU only"):
        load_detector("yolo-openvino", weights=WEIGHTS, device="cuda:0")


def test_what_cannot_be_exported_is_refused_with_the_reason(models_dir, tmp_path) -> None:
    from inference.detectors.yolo_openvino import YoloOpenVinoDetector

    cache_dir = tmp_path / "cache"

    with pytest.raises(DetectorUnavailable, match="untrained network"):
        YoloOpenVinoDetector("yolo11n.yaml", cache_dir=cache_dir)
    with pytest.raises(DetectorUnavailable, match="nightwatch models import"):
        YoloOpenVinoDetector("yolo11s.pt", cache_dir=cache_dir)
    (models_dir / "unvouched.pt").write_bytes(b"a pickle nobody vouched for")
    try:
        with pytest.raises(DetectorUnavailable, match="is not pinned"):
            YoloOpenVinoDetector("unvouched.pt", cache_dir=cache_dir)
    finally:
        (models_dir / "unvouched.pt").unlink()
    assert not cache_dir.exists()  # nothing was exported or cached


def test_onnx_weights_are_read_by_openvino_directly(detector, models_dir, tmp_path, monkeypatch):
    from ultralytics import YOLO

    from inference.detectors.yolo_openvino import YoloOpenVinoDetector

    monkeypatch.chdir(tmp_path)
    source = tmp_path / WEIGHTS
    source.write_bytes(models.resolve_weights(WEIGHTS).read_bytes())
    exported = Path(YOLO(str(source)).export(format="onnx", imgsz=256, simplify=False))
    onnx = exported.replace(tmp_path / "people-untrained-256.onnx")
    models.import_weights(onnx)
    models.trust(models.file_sha256(onnx), source="exported by this test from the pinned .pt")
    on_onnx = YoloOpenVinoDetector(onnx.name, confidence=0.0, cache_dir=tmp_path / "cache")
    assert on_onnx.input_hw == (256, 256)
    assert on_onnx.cache_folder.name.endswith("-onnx-openvino-v1")
    image = cv2.imread(str(media("messi5.jpg")))
    (dets,) = on_onnx.detect([image])
    assert len(dets) > 0
    assert set(dets.class_id.tolist()) == {PERSON_CLASS_ID}


# -- pre- and post-processing against ultralytics' own -----------------------------------------


@pytest.mark.parametrize("shape", [(1080, 1920), (576, 768), (480, 640), (640, 480), (37, 1000)])
def test_letterbox_and_mapping_back_match_ultralytics(shape) -> None:
    import torch
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.ops import scale_boxes

    from inference.detectors.yolo_openvino import letterbox, to_image

    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
    padded, scale, pad = letterbox(image, (SIZE, SIZE))
    expected = LetterBox((SIZE, SIZE), auto=False, stride=32)(image=image)
    assert padded.shape == expected.shape
    assert np.array_equal(padded, expected)

    corners = rng.uniform(0, SIZE / 2, (20, 2))
    boxes = np.c_[corners, corners + rng.uniform(1, SIZE / 2, (20, 2))]
    theirs = scale_boxes((SIZE, SIZE), torch.tensor(boxes.copy()), shape).numpy()
    ours = to_image(boxes, scale, pad)
    ours[:, [0, 2]] = ours[:, [0, 2]].clip(0, shape[1])
    ours[:, [1, 3]] = ours[:, [1, 3]].clip(0, shape[0])
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_greedy_nms_keeps_what_torchvision_keeps() -> None:
    import torch
    import torchvision

    from inference.detectors.yolo_openvino import greedy_nms

    rng = np.random.default_rng(11)
    corners = rng.uniform(0, 200, (400, 2))
    boxes = np.c_[corners, corners + rng.uniform(5, 60, (400, 2))].astype(np.float32)
    scores = rng.uniform(0, 1, 400).astype(np.float32)
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    expected = torchvision.ops.nms(torch.tensor(boxes), torch.tensor(scores), 0.5).numpy()
    kept = greedy_nms(boxes, 0.5, limit=1000)
    assert kept.tolist() == expected.tolist()
    assert greedy_nms(boxes, 0.5, limit=7).tolist() == expected[:7].tolist()
    overlap = box_iou(boxes[kept], boxes[kept])
    np.fill_diagonal(overlap, 0)
    assert overlap.max() <= 0.5
