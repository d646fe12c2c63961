"""The YOLO backend on real photos, and the choice between YOLO and the offline SSDLite detector.

Plumbing tests use an untrained network built from "yolo11n.yaml" with a zero threshold: its
boxes mean nothing, but their number, shape, class and place in the image are what the backend
guarantees. Accuracy is measured only with trained weights installed (marker `yolo`), and the GPU
path only where CUDA is present (marker `gpu`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference import models
from inference.detections import PERSON_CLASS_ID, Detections
from inference.detectors.base import DetectorUnavailable
from inference.detectors.loading import load_detector
from inference.detectors.yolo import YoloDetector, prepare_ultralytics_environment
from tests.media import media, ultralytics_asset

TRAINED_NAMES = ("yolo11n.pt", "yolo11s.pt", "yolov8n.pt", "yolo11n.onnx", "yolo11n.engine")


@pytest.fixture(scope="module", autouse=True)
def offline_ultralytics(tmp_path_factory):
    """Ultralytics' settings in a throwaway folder, set before ultralytics is first imported."""
    if "YOLO_CONFIG_DIR" not in os.environ:
        os.environ["YOLO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("yolo-config"))
    prepare_ultralytics_environment(offline=True)


@pytest.fixture
def empty_models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Real photos of different sizes: four with people, one without."""
    paths = [
        ultralytics_asset("bus.jpg"),
        ultralytics_asset("zidane.jpg"),
        media("messi5.jpg"),
        media("basketball1.png"),
        media("fruits.jpg"),
    ]
    images = [cv2.imread(str(p)) for p in paths]
    assert all(image is not None for image in images)
    return images


@pytest.fixture(scope="module")
def untrained() -> YoloDetector:
    return YoloDetector("yolo11n.yaml", device="cpu", confidence=0.0, image_size=320)


def assert_inside(dets: Detections, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    assert np.all(dets.xyxy[:, 0] >= 0)
    assert np.all(dets.xyxy[:, 1] >= 0)
    assert np.all(dets.xyxy[:, 2] <= width)
    assert np.all(dets.xyxy[:, 3] <= height)
    assert np.all(dets.xyxy[:, 2] > dets.xyxy[:, 0])
    assert np.all(dets.xyxy[:, 3] > dets.xyxy[:, 1])


# -- plumbing with an untrained network ------------------------------------------------------


def test_a_batch_of_photos_gives_one_result_per_photo_in_one_call(untrained, photos, monkeypatch):
    calls: list[int] = []
    predict = untrained._model.predict

    def counting_predict(*args, **kwargs):
        calls.append(len(kwargs["source"]))
        return predict(*args, **kwargs)

    monkeypatch.setattr(untrained._model, "predict", counting_predict)
    found = untrained.detect(photos)

    assert calls == [len(photos)]
    assert len(found) == len(photos)
    for dets, image in zip(found, photos, strict=True):
        assert isinstance(dets, Detections)
        assert len(dets) > 0  # a zero threshold keeps candidates in every image
        assert set(dets.class_id.tolist()) == {PERSON_CLASS_ID}
        assert np.all(dets.track_id == -1)
        assert_inside(dets, image)


def test_an_empty_batch_gives_nothing(untrained):
    assert untrained.detect([]) == []


def test_a_greyscale_image_is_refused(untrained, photos):
    grey = cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY)
    with pytest.raises(ValueError, match="BGR"):
        untrained.detect([grey])


def test_info_names_backend_model_and_device(untrained):
    assert untrained.info.backend == "yolo"
    assert untrained.info.model == "yolo11n.yaml"
    assert untrained.info.device == "cpu"
    assert "untrained" in untrained.info.note


def test_onnx_weights_run_through_the_same_backend(
    untrained, photos, empty_models_dir, tmp_path, monkeypatch
):
    """Export the untrained network to ONNX, import it, pin it, detect with it."""
    monkeypatch.chdir(tmp_path)  # the exporter writes beside the current folder
    exported = Path(
        untrained._model.export(format="onnx", imgsz=320, dynamic=False, simplify=False)
    )
    source = tmp_path / "people-untrained.onnx"
    exported.replace(source)
    installed = models.import_weights(source)
    assert not installed.trusted  # imported is not trusted
    with pytest.raises(DetectorUnavailable, match="not pinned"):
        YoloDetector("people-untrained.onnx", device="cpu", image_size=320)
    models.trust(installed.sha256, source="exported here from the untrained yolo11n.yaml")

    detector = YoloDetector("people-untrained.onnx", device="cpu", confidence=0.0, image_size=320)
    assert detector.info.model == "people-untrained.onnx"
    found = detector.detect(photos[:3])  # the export has batch 1: ultralytics splits the batch
    assert len(found) == 3
    for dets, image in zip(found, photos[:3], strict=True):
        assert len(dets) > 0
        assert_inside(dets, image)


# -- missing or refused weights --------------------------------------------------------------


def test_missing_weights_say_how_to_import_them(empty_models_dir):
    with pytest.raises(DetectorUnavailable) as err:
        YoloDetector("yolo11n.pt")
    message = str(err.value)
    assert message == (
        f"YOLO weights yolo11n.pt not found in {empty_models_dir} and cannot be downloaded "
        "offline; import them with `nightwatch models import PATH`"
    )


def test_an_unpinned_pt_is_not_unpickled(empty_models_dir):
    empty_models_dir.mkdir()
    (empty_models_dir / "yolo11n.pt").write_bytes(b"not the released file")
    with pytest.raises(DetectorUnavailable, match="is not pinned"):
        YoloDetector("yolo11n.pt")


# -- no code runs from a model file nobody pinned ---------------------------------------------


class _Payload:
    """Unpickling this writes a marker file: the shape of a malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def crafted_pt(tmp_path) -> tuple[Path, Path]:
    """A .pt (torch.save's zip format) whose unpickling creates `marker`."""
    import torch

    marker = tmp_path / "pickle-ran-code"
    path = tmp_path / "vendor" / "best.pt"
    path.parent.mkdir()
    torch.save({"model": _Payload(marker)}, path)
    return path, marker


@pytest.fixture
def crafted_yaml(tmp_path) -> tuple[Path, Path]:
    """yolo11.yaml with an `activation` that ultralytics evaluates, and which creates `marker`."""
    marker = tmp_path / "yaml-ran-code"
    genuine = models.resolve_model_yaml("yolo11n.yaml")
    assert genuine is not None
    path = tmp_path / "vendor" / "yolo11n.yaml"
    path.parent.mkdir(exist_ok=True)
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or nn.SiLU()"
    path.write_text(genuine.read_text() + f'\nactivation: "{payload}"\n')
    return path, marker


def test_the_crafted_files_do_run_code_when_loaded_without_a_check(crafted_pt, crafted_yaml):
    """The control: ultralytics itself, given these files, runs their code."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import torch_safe_load

    pt, pt_marker = crafted_pt
    torch_safe_load(str(pt))  # unpickles it: {"model": None}, after the payload ran
    assert pt_marker.exists()
    yaml_path, yaml_marker = crafted_yaml
    YOLO(str(yaml_path), task="detect")
    assert yaml_marker.exists()


def test_a_crafted_pickle_is_refused_naming_the_file_and_the_missing_pin(
    crafted_pt, empty_models_dir
):
    path, marker = crafted_pt
    digest = models.file_sha256(path)
    with pytest.raises(DetectorUnavailable) as err:
        YoloDetector(path, device="cpu")
    message = str(err.value)
    assert str(path) in message
    assert digest in message
    assert "is not pinned" in message
    assert f"nightwatch models trust {digest}" in message
    models.import_weights(path, sha256=digest)  # a hash given at import vouches for nothing
    with pytest.raises(DetectorUnavailable, match="is not pinned"):
        YoloDetector("best.pt", device="cpu")
    assert not marker.exists()


def test_a_crafted_model_yaml_is_refused_and_auto_falls_back(crafted_yaml, empty_models_dir):
    path, marker = crafted_yaml
    with pytest.raises(DetectorUnavailable) as err:
        YoloDetector(path, device="cpu")
    assert str(path) in str(err.value)
    assert models.file_sha256(path) in str(err.value)
    assert "is not pinned" in str(err.value)
    pytest.importorskip("inference.detectors.ssdlite")
    detector = load_detector("auto", weights=str(path), device="cpu")
    assert detector.info.backend == "ssdlite"
    assert not marker.exists()


@pytest.fixture
def pinned_pt(untrained, tmp_path, empty_models_dir) -> Path:
    """A real ultralytics checkpoint (the untrained network, saved), pinned by a supervisor."""
    path = tmp_path / "people-untrained.pt"
    untrained._model.save(str(path))
    models.trust(models.file_sha256(path), source="saved here from yolo11n.yaml", name=path.name)
    return path


def test_a_pinned_pt_loads_and_detects(pinned_pt, photos):
    detector = YoloDetector(pinned_pt, device="cpu", confidence=0.0, image_size=320)
    assert detector.info.model == "people-untrained.pt"
    [dets] = detector.detect(photos[:1])
    assert len(dets) > 0
    assert_inside(dets, photos[0])


def test_a_pt_swapped_after_pinning_is_refused(pinned_pt, crafted_pt):
    evil, marker = crafted_pt
    pinned_pt.write_bytes(evil.read_bytes())
    with pytest.raises(DetectorUnavailable, match="is not pinned") as err:
        YoloDetector(pinned_pt, device="cpu")
    assert str(pinned_pt) in str(err.value)
    assert not marker.exists()


def test_a_pt_swapped_between_the_check_and_the_load_is_not_the_one_loaded(
    pinned_pt, crafted_pt, monkeypatch
):
    """The check and the load read the same bytes: the file is swapped for the crafted pickle
    right after it was hashed (when ultralytics is imported, just before the load)."""
    from inference.detectors import yolo

    evil, marker = crafted_pt
    real_import = yolo._import_ultralytics

    def import_then_swap(offline: bool):
        pinned_pt.write_bytes(evil.read_bytes())
        return real_import(offline)

    monkeypatch.setattr(yolo, "_import_ultralytics", import_then_swap)
    detector = YoloDetector(pinned_pt, device="cpu", confidence=0.0, image_size=320)
    assert models.file_sha256(pinned_pt) == models.file_sha256(evil), "the file was swapped"
    assert detector.detect(photos_of_one()) is not None
    assert not marker.exists()


def photos_of_one() -> list[np.ndarray]:
    image = cv2.imread(str(ultralytics_asset("bus.jpg")))
    assert image is not None
    return [image]


def test_tensorrt_weights_need_cuda(empty_models_dir, tmp_path):
    engine = tmp_path / "people.engine"
    engine.write_bytes(b"serialized engine")
    with pytest.raises(DetectorUnavailable, match="is not pinned"):  # pins come first
        YoloDetector(engine, device="cpu")
    models.trust(models.file_sha256(engine), source="test", name=engine.name)
    with pytest.raises(DetectorUnavailable, match="CUDA"):
        YoloDetector(engine, device="cpu")


def test_an_unknown_device_is_refused():
    with pytest.raises(DetectorUnavailable, match="unknown device"):
        YoloDetector("yolo11n.yaml", device="tpu")


# -- choosing a detector ---------------------------------------------------------------------


def test_yolo_kind_raises_when_weights_are_missing(empty_models_dir):
    with pytest.raises(DetectorUnavailable, match="nightwatch models import"):
        load_detector("yolo")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown detector kind"):
        load_detector("hog")


def test_auto_uses_yolo_when_its_weights_are_given():
    detector = load_detector("auto", weights="yolo11n.yaml", device="cpu")
    assert detector.info.backend == "yolo"


def test_auto_falls_back_to_ssdlite_with_one_warning(empty_models_dir, caplog):
    pytest.importorskip(
        "inference.detectors.ssdlite", reason="the SSDLite backend is not in this checkout"
    )
    with caplog.at_level(logging.WARNING, logger="inference.detectors.loading"):
        detector = load_detector("auto")
    assert detector.info.backend == "ssdlite"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "\n" not in line
    assert "yolo11n.pt" in line
    assert detector.info.note in line


# -- accuracy: trained weights on hand-checked photos ----------------------------------------


def trained_weights() -> Path | None:
    env = os.environ.get("NIGHTWATCH_TEST_YOLO_WEIGHTS")
    if env:
        return models.resolve_weights(env)
    for name in TRAINED_NAMES:
        path = models.resolve_weights(name)
        if path is not None and models.describe(path).trusted:
            return path
    return None


@pytest.mark.yolo
def test_trained_yolo_finds_the_people_in_real_photos():
    """Against the hand-checked boxes of tests/photo_truth.py. The bounds below were not measured
    with YOLO (no trained weights on the build machines): they are what any trained COCO YOLO
    must reach; record measured per-photo counts as `min_found["yolo"]` there."""
    weights = trained_weights()
    if weights is None:
        pytest.skip(
            f"no trained YOLO weights in {models.models_dir()} ({', '.join(TRAINED_NAMES)}); "
            "import and pin them (`nightwatch models import PATH`, `nightwatch models trust "
            "SHA256 --source REF`) or set NIGHTWATCH_TEST_YOLO_WEIGHTS"
        )
    from tests.photo_truth import EMPTY_PHOTOS, PEOPLE_PHOTOS, match

    detector = YoloDetector(weights, confidence=0.25)
    people = sum(len(p.boxes) for p in PEOPLE_PHOTOS)
    found_total = 0
    detected = detector.detect([p.load() for p in PEOPLE_PHOTOS])  # one batch
    for photo, dets in zip(PEOPLE_PHOTOS, detected, strict=True):
        found, _ = match(photo.boxes, dets.xyxy)
        found_total += found
        if "yolo" in photo.min_found:
            assert found >= photo.required("yolo"), f"{photo.name}: found {found}"
        if photo.kind == "close-up":
            assert found >= len(photo.boxes) - 1, f"{photo.name}: found {found}"
    assert found_total >= 0.8 * people, f"found {found_total} of {people} people"

    on_empty = detector.detect([p.load() for p in EMPTY_PHOTOS])
    assert sum(len(d) for d in on_empty) <= 1, [len(d) for d in on_empty]


# -- GPU -------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_batch_on_the_gpu(photos):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    detector = YoloDetector("yolo11n.yaml", device=None, confidence=0.0, image_size=320)
    assert detector.info.device == "cuda:0"  # picked by itself
    found = detector.detect(photos)
    assert len(found) == len(photos)
    for dets, image in zip(found, photos, strict=True):
        assert len(dets) > 0
        assert set(dets.class_id.tolist()) == {PERSON_CLASS_ID}
        assert_inside(dets, image)


@pytest.mark.gpu
def test_the_pool_puts_its_yolo_worker_on_the_gpu(photos):
    """A real worker process, placed by `default_devices`, detects a batch on the card: the
    pool's own path (frame ring in shared memory, pipe, FP16 predict), not the detector alone."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    import time

    from inference.frame_ring import FrameRing
    from inference.worker_pool import DetectorSpec, WorkerPool

    largest = max(image.nbytes for image in photos)
    ring = FrameRing.create("gpu-cam", slots=len(photos), max_frame_bytes=largest)
    pool = WorkerPool(DetectorSpec("yolo", weights="yolo11n.yaml"), cpu_workers=None)
    try:
        pool.start()
        assert pool.size() == 1
        deadline = time.monotonic() + 180
        while not pool.idle_workers() and time.monotonic() < deadline:
            pool.poll(timeout_s=0.1)
        assert pool.idle_workers() == [0], pool.all_failed()
        refs = [ring.publish(image, ts=float(i)) for i, image in enumerate(photos)]
        pool.submit(0, [(ref, ring.name) for ref in refs])
        results = []
        while len(results) < len(photos) and time.monotonic() < deadline:
            results.extend(pool.poll(timeout_s=0.1)[0])
        assert len(results) == len(photos)
        info = pool.detector_info()
        assert info is not None
        assert info.device == "cuda:0"
        assert all(r.batch_size == len(photos) and r.detections is not None for r in results)
    finally:
        pool.stop()
        ring.close()
        ring.unlink()
