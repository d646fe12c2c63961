"""What `VisionPipeline.stats()` returns: one frozen snapshot of the pipeline's figures.

Readers (the health panel, `nightwatch watch`, the benchmarks) get a value that nothing changes
after it was taken: the per-camera figures are in a read-only mapping and the workers' in a
tuple. Counters are totals since the pipeline started; rates and quantiles are over the last
10 s (see each field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from inference.detectors.base import DetectorInfo
from inference.sources import CameraStatus

__all__ = ["CameraFigures", "PipelineStats", "WorkerFigures"]


@dataclass(frozen=True, slots=True)
class CameraFigures:
    """One camera's figures in a `PipelineStats`."""

    status: CameraStatus
    reason: str = ""
    decoded: int = 0  # frames its capture wrote to the ring
    detected: int = 0  # frames the detector judged
    gated: int = 0  # frames the motion gate spared the detector
    stale: int = 0  # frames replaced by a newer one before a worker was free
    watch: str = "still"  # why the scheduler looks: alarmed, near-objects, people, motion, still
    interval_s: float = 0.0  # how often the scheduler aims to look at it now


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """One detector worker's figures in a `PipelineStats`."""

    worker: int
    device: str
    ready: bool
    restarts: int
    jobs: int
    frames: int
    busy_s: float  # seconds spent detecting since it started


def _frozen_cameras(cameras: Mapping[str, CameraFigures]) -> Mapping[str, CameraFigures]:
    return cameras if isinstance(cameras, MappingProxyType) else MappingProxyType(dict(cameras))


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """The pipeline's figures at one moment, for the status bar, the CLI and the benchmarks."""

    cameras: Mapping[str, CameraFigures] = field(default_factory=dict)
    live: int = 0
    decoded: int = 0
    detected: int = 0
    stale: int = 0
    detections_per_s: float = 0.0  # over the last 10 s
    latency_p50_s: float = 0.0  # frame written -> tracks delivered
    latency_p95_s: float = 0.0
    # coverage (the last 10 s): the share of moving cameras' time in gaps between two judgements
    # within the target (None: nothing moved), and the age of the frames they were judged on;
    # see inference.scheduler.CoverageMeter
    coverage_target_s: float = 0.5
    moving_cameras: int = 0
    coverage: float | None = None
    judged_age_p50_s: float | None = None
    judged_age_p95_s: float | None = None
    # looks a second the workers give (None until measured), and the moving cameras the
    # scheduler looks at less often than the target because the looks do not reach
    capacity_looks_per_s: float | None = None
    stretched_cameras: int = 0
    batch_size: int = 0  # frames a worker job takes now (fewer than max_batch when frames are slow)
    detector: DetectorInfo | None = None
    workers: tuple[WorkerFigures, ...] = ()
    error: str | None = None  # why no detector worker could start

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", _frozen_cameras(self.cameras))
        object.__setattr__(self, "workers", tuple(self.workers))

    @property
    def offline(self) -> int:
        """Cameras that send no picture (offline or stalled)."""
        return sum(1 for c in self.cameras.values() if c.status.down)
