"""An alarm's evidence in tabs: the snapshot, the same frame without boxes, and its clips.

Used by the alarm's detail (`ui.alarm_detail`) and the incident browser (`ui.incident_browser`).
Each clip (one per camera that saw the alarm) says in words what became of it: played with the
boxes over it (`ui.clip_player`), still being recorded (until the post-roll after its risk
cleared), not made (and why: a USB camera has no stream to keep, the recorder was offline...),
or deleted by retention (its hash kept). Paths come from the store's file area
(`StoreFiles.path`, a path computation: nothing here reads the database).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QTabWidget, QVBoxLayout, QWidget

from console.site_file import Site
from console.store import ClipState, SnapshotKind, StoreFiles
from console.store.clips import ClipRecord
from console.store.snapshots import SnapshotRecord
from ui.clip_player import ClipPlayer, ClipShown, Overlay
from ui.dispatch_dialog import camera_name
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["EvidenceTabs", "clip_words"]

SNAPSHOT_SIZE = QSize(640, 360)


def _local(site: Site, at: datetime | None) -> str:
    return "—" if at is None else f"{at.astimezone(site.tz):%Y-%m-%d %H:%M:%S}"


def clip_words(site: Site, clip: ClipRecord, post_roll_s: float) -> str:
    """What became of a clip, in words."""
    camera = camera_name(site, clip.camera_id)
    if clip.state == ClipState.RECORDING:
        return (
            f"The clip of {camera} is being recorded: from {_local(site, clip.window_start_at)} "
            f"until {post_roll_s:g} s after its risk clears."
        )
    if clip.state in (ClipState.FAILED, ClipState.UNAVAILABLE):
        return f"No clip of {camera}: {clip.reason or 'no reason was recorded'}."
    sha = (clip.sha256 or "")[:16]
    if clip.purged_at is not None:
        return (
            f"The clip of {camera} was deleted on {_local(site, clip.purged_at)} (retention); "
            f"its SHA-256 {sha}… is kept."
        )
    length = (
        (clip.end_at - clip.start_at).total_seconds()
        if clip.end_at is not None and clip.start_at is not None
        else 0.0
    )
    text = (
        f"Clip of {camera}: {_local(site, clip.start_at)}, {length:.0f} s, {clip.codec} "
        f"{clip.width}x{clip.height} as the camera sent it; SHA-256 {sha}…"
    )
    if clip.reason:
        text += f" ({clip.reason})"
    return text


class EvidenceTabs(QTabWidget):
    """Snapshot · Without boxes · Clip (with a camera choice when several cameras saw it)."""

    def __init__(self, site: Site, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.site = site
        self.snapshot = self._picture("snapshot")
        self.clean_snapshot = self._picture("snapshot without boxes")
        self.player = ClipPlayer(site)
        self.clip_status = QLabel("")
        self.clip_status.setWordWrap(True)
        self.clip_status.setProperty("role", "muted")
        self.camera_box = QComboBox()
        self.camera_box.setAccessibleName("clip camera")
        self.camera_box.currentIndexChanged.connect(self._camera_chosen)
        clip_page = QWidget()
        column = QVBoxLayout(clip_page)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.camera_box)
        column.addWidget(self.player, 1)
        column.addWidget(self.clip_status)
        self.addTab(self.snapshot, "Snapshot")
        self.addTab(self.clean_snapshot, "Without boxes")
        self.addTab(clip_page, "Clip")
        self.clips: list[ClipRecord] = []
        self.files: StoreFiles | None = None
        self.severity = "high"
        self._shown: tuple[int, str | None] | None = None  # (clip id, its sha) in the player
        self._pictures: dict[QLabel, str | None] = {}

    def _picture(self, name: str) -> QLabel:
        label = QLabel()
        label.setAccessibleName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setMinimumSize(SNAPSHOT_SIZE)
        label.setStyleSheet(f"background: {PALETTE.wall}; color: {PALETTE.muted};")
        return label

    # -- pictures ------------------------------------------------------------------------------

    def show_picture(self, label: QLabel, path: str | Path | None, missing: str) -> None:
        """A JPEG scaled into its tab, or the words why there is none."""
        key = str(path) if path else None
        shown = label.pixmap()
        if key is not None and self._pictures.get(label) == key and not shown.isNull():
            return
        self._pictures[label] = key
        if key is None:
            label.setPixmap(QPixmap())
            label.setText(missing)
            return
        image = QImage(key)
        if image.isNull():
            label.setPixmap(QPixmap())
            label.setText("the picture cannot be read (deleted by retention, or moved)")
            return
        scaled = image.scaled(
            SNAPSHOT_SIZE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        label.setPixmap(QPixmap.fromImage(scaled))

    def show_snapshots(
        self,
        records: Sequence[SnapshotRecord],
        files: StoreFiles | None,
        kinds: Sequence[SnapshotKind] = (SnapshotKind.ANNOTATED, SnapshotKind.CLEAN),
    ) -> None:
        """The annotated and clean snapshots from their records (the first of each kind)."""
        self.files = files
        for kind, label, missing in (
            (SnapshotKind.ANNOTATED, self.snapshot, "no snapshot was stored"),
            (SnapshotKind.CLEAN, self.clean_snapshot, "no snapshot without boxes was stored"),
        ):
            if kind not in kinds:
                continue
            record = next((r for r in records if r.kind == kind), None)
            if record is None or files is None:
                self.show_picture(label, None, missing)
            elif record.purged_at is not None:
                when = _local(self.site, record.purged_at)
                self.show_picture(label, None, f"deleted on {when} (retention); its hash is kept")
            else:
                self.show_picture(label, files.path(record.relative_path), missing)

    # -- clips ---------------------------------------------------------------------------------

    def show_clips(
        self, clips: Sequence[ClipRecord], files: StoreFiles | None, severity: str = "high"
    ) -> None:
        """The alarm's clips; the one chosen plays (the first kept one at first)."""
        self.files = files
        self.severity = severity
        chosen = self.current_clip()
        self.clips = list(clips)
        self.camera_box.blockSignals(True)
        self.camera_box.clear()
        for clip in self.clips:
            state = "" if clip.playable else f" ({clip.state.value})"
            self.camera_box.addItem(camera_name(self.site, clip.camera_id) + state, clip.id)
        index = 0
        if chosen is not None:
            index = max(0, self.camera_box.findData(chosen.id))
        elif any(c.playable for c in self.clips):
            index = next(i for i, c in enumerate(self.clips) if c.playable)
        self.camera_box.setCurrentIndex(index)
        self.camera_box.setVisible(len(self.clips) > 1)
        self.camera_box.blockSignals(False)
        self._camera_chosen(index)

    def current_clip(self) -> ClipRecord | None:
        index = self.camera_box.currentIndex()
        return self.clips[index] if 0 <= index < len(self.clips) else None

    def _camera_chosen(self, _index: int) -> None:
        clip = self.current_clip()
        post = float(self.site.evidence.post_roll_s)
        if clip is None:
            self._shown = None
            self.player.show_message("no clip was asked for (the alarm has no camera clip)")
            self.clip_status.setText("")
            return
        self.clip_status.setText(clip_words(self.site, clip, post))
        if not clip.playable or self.files is None or clip.relative_path is None:
            self._shown = None
            words = {
                ClipState.RECORDING: "being recorded…",
                ClipState.FAILED: "no clip",
                ClipState.UNAVAILABLE: "no clip for this camera",
            }.get(clip.state, "the clip was deleted by retention")
            self.player.show_message(words)
            return
        if self._shown == (clip.id, clip.sha256):
            return  # already in the player
        path = self.files.path(clip.relative_path)
        if clip.start_at is None or not path.is_file():
            self._shown = None
            self.player.show_message("the clip's file is missing")
            return
        self._shown = (clip.id, clip.sha256)
        self.player.load(
            ClipShown(path, clip.start_at, Overlay.of(clip.overlay), severity=self.severity)
        )

    def forget(self) -> None:
        """Nothing shown (another alarm is being read)."""
        self.player.unload()
        self._shown = None
        self.clips = []
        self.camera_box.clear()
        self.clip_status.setText("")

    def stop(self) -> None:
        """Stop the player's decoding (the window closes)."""
        self.player.unload()
        self._shown = None
