"""Frames for the editor's dialogs: a camera's live picture, and the connection test.

A camera the console runs shows its newest frame from its frame ring (what the detector sees,
the sub-stream); a camera not running yet (just added, or its stream just changed) is opened
on a thread of the grabber's own, with the open and read timeouts of the vision layer, so a
camera that does not answer never freezes the window: after at most the timeouts the answer
says why (refused, not found, unauthorised, no answer within 5 s, no such file, the secrets
store cannot be read, ...). Credentials come from the secrets store by the camera's
`credentials` key, and are masked in every word shown.

    grabber = FrameGrabber(parent=dialog)
    grabber.grabbed.connect(show)            # Grab: the frame (BGR), or the reason
    grabber.grab("rtsp://cam-7/sub", credentials="cam-7", base_dir=site_dir)
    grabber.close()                          # joins its threads
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from console.secrets import SecretsError, load_secrets, with_credentials
from inference.frame_ring import FrameRing
from inference.sources import SourceError, mask_credentials, parse_source, split_start

log = logging.getLogger(__name__)

__all__ = ["FrameGrabber", "Grab", "live_frame", "pixmap_of"]

OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Grab:
    """A frame from a camera's source, or why there is none (in words)."""

    source: str  # as written in the site file (credentials never in it)
    image: np.ndarray | None
    reason: str = ""
    live: bool = False  # from the running console's ring

    @property
    def ok(self) -> bool:
        return self.image is not None

    @property
    def size(self) -> tuple[int, int] | None:
        if self.image is None:
            return None
        return int(self.image.shape[1]), int(self.image.shape[0])


def pixmap_of(image: np.ndarray) -> QPixmap:
    """A BGR (or grey) frame as a pixmap (copied)."""
    if image.ndim == 2:
        height, width = image.shape
        qimage = QImage(
            image.data, width, height, image.strides[0], QImage.Format.Format_Grayscale8
        )
    else:
        height, width = image.shape[:2]
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        qimage = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


def live_frame(rings: Mapping[str, FrameRing], camera_id: str) -> np.ndarray | None:
    """The camera's newest frame from the running console's ring, or None (not running, no
    frame yet). A copy: the ring's slot may be written again at once."""
    ring = dict(rings).get(camera_id)
    if ring is None:
        return None
    ref = ring.latest()
    if ref is None:
        return None
    return ring.read(ref)


def open_and_read(source: str, credentials: str | None, base_dir: Path) -> Grab:
    """(any thread; blocks up to the timeouts) Open the source, read one frame, close."""
    spec = source.strip()
    if not spec:
        return Grab(source, None, "no source given: a stream URL, a video file or usb:N")
    if "://" not in spec and not spec.startswith("usb:"):
        path, start = split_start(spec)
        resolved = Path(path) if Path(path).is_absolute() else base_dir / path
        spec = f"{resolved}#t={start:g}" if start else str(resolved)
        if not resolved.is_file():
            return Grab(source, None, f"no video file at {resolved}")
    elif credentials and "://" in spec:
        try:
            found = load_secrets().get(credentials)
        except SecretsError as exc:
            return Grab(source, None, f"the secrets store cannot be read: {exc}")
        if found is None:
            return Grab(
                source,
                None,
                f"no entry {credentials!r} in the secrets store (see docs/site-file.md)",
            )
        spec = with_credentials(spec, found)
    try:
        reader = parse_source(
            spec, open_timeout_s=OPEN_TIMEOUT_S, read_timeout_s=READ_TIMEOUT_S, pace=False
        )
    except SourceError as exc:
        return Grab(source, None, mask_credentials(str(exc), hide_user=True))
    try:
        reader.open()
        frame = reader.read()
    except SourceError as exc:
        return Grab(source, None, mask_credentials(str(exc), hide_user=True))
    except Exception as exc:  # OpenCV can raise anything: said, never thrown at the window
        return Grab(source, None, mask_credentials(f"{type(exc).__name__}: {exc}", hide_user=True))
    finally:
        reader.close()
    if frame is None:
        return Grab(source, None, "the source opened but gave no frame (an empty file?)")
    return Grab(source, frame.image)


class FrameGrabber(QObject):
    """Opens sources on threads of its own; each answer arrives on the GUI thread."""

    grabbed = Signal(object)  # Grab

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def busy(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def grab(self, source: str, *, credentials: str | None, base_dir: Path) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]

        def run() -> None:
            result = open_and_read(source, credentials, base_dir)
            log.info("connection test of %s: %s", mask_credentials(source), result.reason or "ok")
            if not self._closed:
                self.grabbed.emit(result)

        thread = threading.Thread(target=run, name="nightwatch-connection-test", daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        """No more answers; join the threads (bounded by the open and read timeouts)."""
        self._closed = True
        for thread in self._threads:
            thread.join(timeout=OPEN_TIMEOUT_S + READ_TIMEOUT_S + 5)
        self._threads = []
