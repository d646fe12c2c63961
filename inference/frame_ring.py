"""Per-camera frame rings in shared memory: the latest K frames, each with sequence and time.

Pixels stay here. Everything else in the pipeline passes a `FrameRef(camera_id, slot, seq, ts)`
(a few dozen bytes), and whoever needs the pixels reads them straight from the ring.

One writer at a time per ring (the camera's capture thread); any number of readers in any
process. A slot
is guarded like a seqlock: the writer marks it busy, copies the pixels, then stamps the new
sequence number, so a reader that finds a different sequence after copying knows the frame was
overwritten under it and drops it (it is stale anyway: a newer frame exists).

The ring is sized for the largest frame it accepts (`max_frame_bytes`); shared memory pages are
only backed when touched, so a generous maximum costs address space, not memory.

Time never runs backwards in a ring: `publish` moves a frame stamped at or before the newest
frame's time to just after it, so `FrameRef.ts` increases strictly per camera for the ring's
whole life, across capture processes that die and are restarted (the ring outlives them). A
*segment* counter in the header says where the pictures jump (a file rewound or reopened, a
capture process restarted): each frame carries the segment it belongs to, and the tracker starts
over where it changes, without time going backwards.

Ring names carry the pid of the process that created them (`nw-<pid>-<random>`), so segments
left behind by a console that was killed (SIGKILL to its process group, the OOM killer) can be
told from those of a running one and removed: `sweep_orphan_rings()`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_MAGIC = 0x4E575247  # "NWRG"
_HEADER = np.dtype(
    [
        ("magic", "<u4"),
        ("slots", "<u4"),
        ("max_frame_bytes", "<u8"),
        ("write_seq", "<i8"),  # sequence of the newest complete frame, 0 = none yet
        ("last_motion_at", "<f8"),  # wall time of the latest frame whose motion passed the gate
        ("consumed_seq", "<i8"),  # newest frame the pipeline has finished with (lockstep replay)
        ("last_ts", "<f8"),  # ts of the newest frame, -inf before the first
        ("segment", "<i8"),  # current segment: +1 where the pictures jump (rewind, restart)
    ]
)
_SLOT = np.dtype(
    [
        ("seq", "<i8"),  # -1 while being written
        ("ts", "<f8"),  # source time in seconds (position in a file, wall time for live)
        ("captured_at", "<f8"),  # wall time (time.time()) when the frame was published
        ("motion", "<f4"),  # motion measure of this frame (0..1, share of changed pixels)
        ("height", "<u4"),
        ("width", "<u4"),
        ("channels", "<u4"),
        ("segment", "<i8"),  # the ring's segment when the frame was published
    ]
)
_BUSY = -1
_ALIGN = 64
NAME_PREFIX = "nw-"
_NAME = re.compile(rf"^{NAME_PREFIX}(?P<pid>[0-9]+)-[0-9a-f]+$")
SHM_DIR = Path("/dev/shm")  # nosec B108 # POSIX shared memory, where the rings live


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


@dataclass(frozen=True, slots=True)
class FrameRef:
    """A small reference to one frame in a camera's ring; what queues and signals carry."""

    camera_id: str
    slot: int
    seq: int
    ts: float
    captured_at: float = 0.0
    segment: int = 0  # changes where the pictures jump (a file rewound, a capture restart)


class FrameTooLarge(ValueError):
    """A frame does not fit the ring's `max_frame_bytes`."""


class FrameRing:
    """A ring of the latest `slots` frames of one camera in shared memory.

    Create it in the owning process with `FrameRing.create(...)`, attach in others with
    `FrameRing.attach(name, camera_id)`. The creator calls `unlink()` at shutdown.
    """

    def __init__(self, shm: shared_memory.SharedMemory, camera_id: str, *, owner: bool) -> None:
        self._shm = shm
        self.camera_id = camera_id
        self.owner = owner
        buf = shm.buf
        assert buf is not None
        self._header = np.ndarray((), dtype=_HEADER, buffer=buf, offset=0)
        if int(self._header["magic"]) != _MAGIC:
            raise ValueError(f"shared memory {shm.name!r} is not a Nightwatch frame ring")
        self.slots = int(self._header["slots"])
        self.max_frame_bytes = int(self._header["max_frame_bytes"])
        meta_offset = _aligned(_HEADER.itemsize)
        self._meta = np.ndarray((self.slots,), dtype=_SLOT, buffer=buf, offset=meta_offset)
        self._data_offset = _aligned(meta_offset + _SLOT.itemsize * self.slots)
        self._data = np.ndarray(
            (self.slots, self.max_frame_bytes),
            dtype=np.uint8,
            buffer=buf,
            offset=self._data_offset,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls, camera_id: str, *, slots: int = 4, max_frame_bytes: int = 1280 * 720 * 3
    ) -> FrameRing:
        if slots < 2:
            raise ValueError(f"a frame ring needs at least 2 slots (got {slots})")
        meta_offset = _aligned(_HEADER.itemsize)
        data_offset = _aligned(meta_offset + _SLOT.itemsize * slots)
        size = data_offset + slots * max_frame_bytes
        name = f"{NAME_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        header = np.ndarray((), dtype=_HEADER, buffer=shm.buf, offset=0)
        header["slots"] = slots
        header["max_frame_bytes"] = max_frame_bytes
        header["write_seq"] = 0
        header["last_motion_at"] = 0.0
        header["consumed_seq"] = 0
        header["last_ts"] = -math.inf
        header["segment"] = 0
        meta = np.ndarray((slots,), dtype=_SLOT, buffer=shm.buf, offset=meta_offset)
        meta["seq"] = 0
        header["magic"] = _MAGIC
        log.debug(
            "frame ring %s for camera %s: %d slots of %d bytes",
            name,
            camera_id,
            slots,
            max_frame_bytes,
        )
        return cls(shm, camera_id, owner=True)

    @classmethod
    def attach(cls, name: str, camera_id: str) -> FrameRing:
        return cls(shared_memory.SharedMemory(name=name, create=False), camera_id, owner=False)

    @property
    def name(self) -> str:
        return self._shm.name

    def close(self) -> None:
        """Detach this process's view. Views handed out by `view()` must be released first."""
        # Drop our numpy views before closing the mapping, or mmap refuses to close.
        del self._header, self._meta, self._data
        try:
            self._shm.close()
        except BufferError:
            log.warning("frame ring %s still has views in use; left mapped", self.name)

    def unlink(self) -> None:
        """Remove the shared memory segment (owner only, at shutdown)."""
        with contextlib.suppress(FileNotFoundError):
            self._shm.unlink()

    # -- writer ------------------------------------------------------------------------------

    def begin_segment(self) -> int:
        """The pictures jump from the next frame on (a rewind, a reopened source, a restarted
        capture process): start a new segment and return its number."""
        segment = int(self._header["segment"]) + 1
        self._header["segment"] = segment
        return segment

    def publish(
        self, frame: np.ndarray, ts: float, motion: float = 0.0, moving: bool = False
    ) -> FrameRef:
        """Copy `frame` (H, W[, C] uint8) into the next slot and return its reference.

        `ts` must be after the newest frame's; one that is not (a source whose clock went back)
        is published just after it, so readers never see time run backwards."""
        if frame.dtype != np.uint8:
            raise TypeError(f"frame ring takes uint8 frames (got {frame.dtype})")
        nbytes = frame.nbytes
        if nbytes > self.max_frame_bytes:
            raise FrameTooLarge(
                f"camera {self.camera_id}: frame {frame.shape} is {nbytes} bytes, ring holds "
                f"{self.max_frame_bytes}"
            )
        seq = int(self._header["write_seq"]) + 1
        slot = seq % self.slots
        meta = self._meta[slot]
        meta["seq"] = _BUSY
        target = self._data[slot, :nbytes]
        np.copyto(target, frame.reshape(-1))
        height, width = frame.shape[:2]
        channels = frame.shape[2] if frame.ndim == 3 else 1
        now = time.time()
        last = float(self._header["last_ts"])
        if not ts > last:
            ts = _just_after(last)
        segment = int(self._header["segment"])
        meta["ts"] = ts
        meta["segment"] = segment
        meta["captured_at"] = now
        meta["motion"] = motion
        meta["height"] = height
        meta["width"] = width
        meta["channels"] = channels
        meta["seq"] = seq
        if moving:
            self._header["last_motion_at"] = now
        self._header["last_ts"] = ts
        self._header["write_seq"] = seq
        return FrameRef(self.camera_id, slot, seq, float(ts), now, segment)

    # -- readers -----------------------------------------------------------------------------

    @property
    def write_seq(self) -> int:
        """Sequence number of the newest frame (0 before the first)."""
        return int(self._header["write_seq"])

    @property
    def last_ts(self) -> float | None:
        """Time of the newest frame ever published in this ring (None before the first)."""
        last = float(self._header["last_ts"])
        return None if last == -math.inf else last

    @property
    def segment(self) -> int:
        return int(self._header["segment"])

    @property
    def last_motion_at(self) -> float:
        return float(self._header["last_motion_at"])

    def latest(self) -> FrameRef | None:
        """Reference to the newest complete frame, or None before the first."""
        for _ in range(3):
            seq = int(self._header["write_seq"])
            if seq == 0:
                return None
            slot = seq % self.slots
            meta = self._meta[slot]
            ts, captured_at = float(meta["ts"]), float(meta["captured_at"])
            segment = int(meta["segment"])
            if int(meta["seq"]) == seq:
                return FrameRef(self.camera_id, slot, seq, ts, captured_at, segment)
        return None

    @property
    def consumed_seq(self) -> int:
        return int(self._header["consumed_seq"])

    def mark_consumed(self, seq: int) -> None:
        """The pipeline has finished with frame `seq` (a lockstep writer may publish the next)."""
        if seq > int(self._header["consumed_seq"]):
            self._header["consumed_seq"] = seq

    def motion(self, ref: FrameRef) -> float:
        return float(self._meta[ref.slot]["motion"])

    def read(self, ref: FrameRef) -> np.ndarray | None:
        """A private copy of the frame, or None if it was overwritten (a newer frame exists)."""
        meta = self._meta[ref.slot]
        if int(meta["seq"]) != ref.seq:
            return None
        shape = self._shape(ref.slot)
        size = int(np.prod(shape))
        out = self._data[ref.slot, :size].copy()
        if int(meta["seq"]) != ref.seq:  # overwritten while copying
            return None
        return out.reshape(shape)

    def view(self, ref: FrameRef) -> np.ndarray | None:
        """A zero-copy, read-only view of the frame (for painting). Check `still_valid(ref)` after
        use: a view can be overwritten once the ring wraps around."""
        meta = self._meta[ref.slot]
        if int(meta["seq"]) != ref.seq:
            return None
        shape = self._shape(ref.slot)
        size = int(np.prod(shape))
        out = self._data[ref.slot, :size].reshape(shape)
        out.flags.writeable = False
        return out

    def still_valid(self, ref: FrameRef) -> bool:
        return int(self._meta[ref.slot]["seq"]) == ref.seq

    def _shape(self, slot: int) -> tuple[int, ...]:
        meta = self._meta[slot]
        h, w, c = int(meta["height"]), int(meta["width"]), int(meta["channels"])
        return (h, w) if c == 1 else (h, w, c)


def _just_after(ts: float) -> float:
    """The smallest step after `ts` that a float still shows (1 µs, or one ulp of a large ts)."""
    if ts == -math.inf:
        return 0.0
    return max(ts + 1e-6, math.nextafter(ts, math.inf))


def ring_owner(name: str) -> int | None:
    """The pid in a Nightwatch ring's name (`nw-<pid>-<random>`), None for any other name."""
    m = _NAME.match(name)
    return int(m.group("pid")) if m else None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _mapped_rings() -> set[str]:
    """Names of Nightwatch rings some visible process has mapped (from /proc/*/maps)."""
    mapped: set[str] = set()
    marker = f"{SHM_DIR}/{NAME_PREFIX}"
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            text = maps.read_text("utf-8", errors="replace")
        except OSError:  # gone, or another user's
            continue
        for line in text.splitlines():
            at = line.find(marker)
            if at >= 0:
                mapped.add(line[at + len(str(SHM_DIR)) + 1 :].split(" ")[0])
    return mapped


def sweep_orphan_rings(shm_dir: Path = SHM_DIR) -> list[str]:
    """Remove the frame rings whose creating process is gone; return their names.

    A console killed with its process group (or by the OOM killer) leaves one shared-memory
    segment per camera behind: nothing in it is left to unlink them. Removed are only segments
    named `nw-<pid>-<random>` whose pid no longer runs, that belong to this user and that no
    process has mapped; a running process's rings, rings of an older naming, other users' and
    anything else are never touched. Where there is no `/dev/shm` (not Linux), nothing is done.
    """
    try:
        entries = sorted(p for p in shm_dir.iterdir())
    except OSError:
        return []
    uid = os.getuid() if hasattr(os, "getuid") else None
    candidates = []
    for path in entries:
        pid = ring_owner(path.name)
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            if uid is not None and path.stat().st_uid != uid:
                continue
        except OSError:
            continue
        candidates.append(path)
    if not candidates:
        return []
    in_use = _mapped_rings()
    removed: list[str] = []
    for path in candidates:
        if path.name in in_use:
            log.warning("frame ring %s outlived its creator but is still mapped; kept", path)
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # another sweeper was first
        except OSError as exc:
            log.warning("cannot remove leaked frame ring %s: %s", path, exc)
            continue
        removed.append(path.name)
    if removed:
        log.warning(
            "removed %d frame ring(s) left behind by processes that are gone: %s",
            len(removed),
            ", ".join(removed),
        )
    return removed
