"""The offline person model served by a real Triton Inference Server on loopback (no mocks).

The server is the binary packaging/triton-test-server.sh sets up (Triton 2.51 from
nvidia-pytriton, CPU only, the model on its Python backend running OpenVINO); the README's test
command runs that script first, and the tests are skipped, naming it, where the server is absent.
A frame judged through Triton must give the same people as the same model run here on OpenVINO;
a server that stops answering raises a clear error naming it within the request's deadline, and
one that is not there fails at start.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from inference.detections import box_iou
from inference.detectors.base import DetectorUnavailable
from tests.photo_truth import PHOTOS
from tests.triton_server import TritonServer

MIN_BOX_IOU = 0.95
MAX_SCORE_DIFFERENCE = 0.03


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    reason = TritonServer.unavailable()
    if reason:
        pytest.skip(reason)
    from inference.detectors.ssdlite import model_path
    from inference.detectors.ssdlite_triton import write_model_repository

    try:
        graph = model_path()
    except DetectorUnavailable as exc:
        pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("triton")
    probe = TritonServer(folder / "repository", folder / "tritonserver.log")
    write_model_repository(folder / "repository", graph, site_packages=probe.site_packages())
    with probe:
        yield probe


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    return {p.name: p.load() for p in PHOTOS}


def test_triton_finds_the_same_people_as_openvino_here(server, images, tmp_path: Path) -> None:
    from inference.detectors.ssdlite import SsdliteDetector

    local = SsdliteDetector(threads=2, cache_dir=tmp_path, runtime="openvino")
    remote = SsdliteDetector(runtime="triton", server=server.grpc, server_timeout_s=120.0)
    assert remote.info.device == server.grpc
    assert remote.info.runtime.startswith("Triton ")
    names = [p.name for p in PHOTOS]
    batch = remote.detect([images[n] for n in names])  # one call, several Triton requests
    people = 0
    for name, got in zip(names, batch, strict=True):
        (expected,) = local.detect([images[name]])
        assert len(got) == len(expected), name
        people += len(got)
        if not len(got):
            continue
        overlap = box_iou(expected.xyxy, got.xyxy)
        best = overlap.argmax(axis=1)
        assert (overlap.max(axis=1) >= MIN_BOX_IOU).all(), (name, overlap.max(axis=1))
        assert len(set(best.tolist())) == len(best), name
        difference = np.abs(expected.confidence - got.confidence[best])
        assert (difference <= MAX_SCORE_DIFFERENCE).all(), (name, difference)
    assert people > 0  # the photos have people: the comparison compared something


def test_tiles_and_more_windows_than_a_triton_batch_come_back_in_order(server, images) -> None:
    from inference.detectors.ssdlite import SsdliteDetector

    remote = SsdliteDetector(
        runtime="triton", server=server.grpc, tiles=True, flip=True, server_timeout_s=120.0
    )  # a deadline for a busy 2-core machine; the deadline itself is tested below
    frames = [images["vtest.avi#100"], images["vtest.avi#400"], images["vtest.avi#700"]]
    batch = remote.detect(frames)  # 3 frames x (1 + 4 tiles) x 2 mirrored: 30 windows
    for dets, frame in zip(batch, frames, strict=True):
        (alone,) = remote.detect([frame])
        assert len(dets) == len(alone) > 0
        np.testing.assert_allclose(dets.xyxy, alone.xyxy, atol=1.0)


def test_a_server_that_is_not_there_fails_at_start_naming_it() -> None:
    if TritonServer.unavailable():
        pytest.skip(TritonServer.unavailable())
    from inference.detectors.ssdlite_triton import TritonSsdNet

    with pytest.raises(DetectorUnavailable, match=r"Triton server 127\.0\.0\.1:9 did not answer"):
        TritonSsdNet("127.0.0.1:9", timeout_s=2.0)


def test_a_server_that_stops_answering_raises_naming_it(tmp_path: Path, images) -> None:
    reason = TritonServer.unavailable()
    if reason:
        pytest.skip(reason)
    from inference.detectors.ssdlite import model_path
    from inference.detectors.ssdlite_triton import (
        TritonSsdNet,
        TritonUnreachable,
        write_model_repository,
    )

    server = TritonServer(tmp_path / "repository", tmp_path / "tritonserver.log")
    write_model_repository(
        tmp_path / "repository", model_path(), site_packages=server.site_packages()
    )
    with server:
        net = TritonSsdNet(server.grpc, timeout_s=60.0)
        assert net.forward([images["vtest.avi#100"]]).shape[1] == 7
    with pytest.raises(TritonUnreachable, match=rf"Triton server {server.grpc} did not detect 1"):
        net.forward([images["vtest.avi#100"]])


def test_the_worker_pool_detects_a_camera_through_triton(server) -> None:
    """The live path: capture process, ring, scheduler, two worker processes as Triton clients."""
    from inference.pipeline import CameraSpec, PipelineConfig, VisionPipeline
    from inference.worker_pool import DetectorSpec
    from tests.media import media

    config = PipelineConfig(detector=DetectorSpec("ssdlite-triton", device=server.grpc))
    with VisionPipeline([CameraSpec("hall", str(media("vtest.avi")))], config) as pipeline:
        deadline = time.monotonic() + 240
        while pipeline.stats().detected < 3 and time.monotonic() < deadline:
            assert pipeline.stats().error is None
            time.sleep(0.5)
        stats = pipeline.stats()
    assert stats.detected >= 3, stats
    assert stats.detector is not None
    assert stats.detector.device == server.grpc
    assert stats.detector.runtime.startswith("Triton ")
    assert len(stats.workers) == 2


def test_ssdlite_triton_without_a_server_address_says_what_it_needs() -> None:
    from inference.detectors.loading import load_detector
    from inference.detectors.ssdlite import model_path

    try:
        model_path()
    except DetectorUnavailable as exc:
        pytest.skip(str(exc))
    with pytest.raises(DetectorUnavailable, match=r"gRPC address as its device \(HOST:PORT\)"):
        load_detector("ssdlite-triton", device="cpu")


def test_a_site_file_that_names_the_server_runs_the_console_through_it(
    server, tmp_path: Path
) -> None:
    """A site file's `detection:` section, and nothing on the command line: the console's pool
    detects people on real footage through the server; an edit of the section is applied
    without a restart but says the detector changes at the next start (and it does not)."""
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site, load_site_text, read_site_text
    from console.store import Store
    from inference.pipeline import TrackedFrame
    from tests.sites import courtyard_site

    site_path = courtyard_site(tmp_path)
    text = read_site_text(site_path) + (
        f"evidence: {{record: false}}\ndetection:\n  detector: ssdlite-triton\n"
        f"  server: {server.grpc}\n"
    )
    site_path.write_text(text, encoding="utf-8")
    people: list[int] = []  # people tracked per judged frame (the dispatch thread appends)

    def tracked(frame: TrackedFrame) -> None:
        people.append(len(frame.people))

    store = Store(f"sqlite:///{tmp_path / 'console.db'}", snapshots_dir=tmp_path / "snapshots")
    runtime = SiteRuntime(load_site(site_path), store, RuntimeOptions(), on_tracks=tracked)
    assert runtime.detection.describe() == f"ssdlite-triton at {server.grpc} (from the site file)"
    try:
        with runtime:
            deadline = time.monotonic() + 240
            while not any(people) and time.monotonic() < deadline:
                assert runtime.pipeline.stats().error is None
                time.sleep(0.5)
            assert any(people), "nobody tracked on vtest.avi through the Triton server"
            stats = runtime.pipeline.stats()
            assert stats.detector is not None
            assert stats.detector.device == server.grpc  # what the health tooltip names
            assert stats.detector.runtime.startswith("Triton ")
            assert len(stats.workers) == 2

            moved = load_site_text(
                text.replace(f"server: {server.grpc}", "server: 127.0.0.1:9"),
                str(site_path),
                site_path.parent,
            )
            report = runtime.apply_site(moved).result(timeout=120)
            assert report.applied
            assert (
                "the changed detection section takes effect at the next start; until then this "
                f"console runs ssdlite-triton at {server.grpc} (from the site file)"
            ) in report.summary()
            judged = runtime.pipeline.stats().detected
            deadline = time.monotonic() + 240
            while runtime.pipeline.stats().detected <= judged and time.monotonic() < deadline:
                time.sleep(0.5)
            after = runtime.pipeline.stats()
            assert after.detected > judged  # still detecting: through the server it started with
            assert after.error is None
            assert after.detector is not None
            assert after.detector.device == server.grpc
    finally:
        store.close()
