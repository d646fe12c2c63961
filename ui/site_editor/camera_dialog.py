"""A camera's stream: add a camera or change where its video comes from, and test the
connection before saving.

The dialog edits a camera's id, name, stream (an rtsp/http URL without credentials, a video
file or usb:N), sub-stream, credentials entry (the key of the secrets store that holds the user
and password: never the password itself) and frame size. Each value is checked as it is typed,
with the site file's own model (`console.site_file.Camera`): a URL with a password in it, an
unknown scheme, an id already taken are said under the field. "Test connection" opens the
stream (the sub-stream when there is one: what the detector sees) off the GUI thread, with
timeouts, and shows a live frame, or the reason it failed; "Use this frame size" takes the
frame's size for the camera, so its outlines are checked against its frame.

OK hands the values to the editor (`values()`), which applies them as one undoable step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.site_file import Camera
from console.site_file.pydantic_errors import problems_of
from inference.sources import mask_credentials
from ui.site_editor.fields import ProblemLabel, field_help
from ui.site_editor.frames import FrameGrabber, Grab, pixmap_of

__all__ = ["CameraDialog"]

FIELDS = ("id", "name", "source", "substream", "credentials")


def _frame_text(size: Any) -> str:
    if isinstance(size, list | tuple) and len(size) == 2:
        return f"{size[0]} x {size[1]}"
    return ""


def _frame_value(text: str) -> Any:
    """'768 x 576' -> [768, 576]; '' -> None; anything else as typed (the check says why)."""
    cleaned = text.strip().lower().replace("×", "x")
    if not cleaned:
        return None
    parts = [p.strip() for p in cleaned.split("x")]
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return [int(parts[0]), int(parts[1])]
    return text


class CameraDialog(QDialog):
    """See the module doc. `taken_ids`: the other cameras' ids."""

    def __init__(
        self,
        camera: dict[str, Any],
        *,
        base_dir: Path,
        taken_ids: set[str],
        new: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New camera" if new else f"Camera {camera.get('id', '')}")
        self.camera = dict(camera)
        self.base_dir = base_dir
        self.taken_ids = taken_ids
        self.grab_result: Grab | None = None
        self.grabber = FrameGrabber(self)
        self.grabber.grabbed.connect(self._grabbed)
        self.edits: dict[str, QLineEdit] = {}
        self.problems: dict[str, ProblemLabel] = {}
        form = QFormLayout()
        for name in (*FIELDS, "frame_size_px"):
            title, help_text = field_help(Camera, name)
            edit = QLineEdit()
            edit.setAccessibleName(title)
            edit.setToolTip(help_text)
            if name == "frame_size_px":
                edit.setText(_frame_text(camera.get(name)))
                edit.setPlaceholderText("width x height (a stream's; a file's is read)")
            else:
                value = camera.get(name)
                edit.setText("" if value is None else str(value))
            if name == "credentials":
                edit.setPlaceholderText("key of the secrets store entry (not the password)")
            edit.textEdited.connect(self.validate)
            problem = ProblemLabel()
            holder = QWidget()
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(edit)
            column.addWidget(problem)
            form.addRow(title, holder)
            self.edits[name] = edit
            self.problems[name] = problem
        self.edits["id"].setReadOnly(not new)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.use_size_button = QPushButton("Use this frame size")
        self.use_size_button.setEnabled(False)
        self.use_size_button.clicked.connect(self._use_size)
        self.result_line = QLabel("Not tested")
        self.result_line.setWordWrap(True)
        self.result_line.setAccessibleName("connection test result")
        self.preview = QLabel()
        self.preview.setMinimumSize(320, 180)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #0b0d10;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.use_size_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.result_line)
        layout.addWidget(self.preview, 1)
        layout.addWidget(buttons)
        self.validate()

    # -- the values ------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The camera as the site file will hold it (empty optional fields left out)."""
        data = dict(self.camera)
        for name in FIELDS:
            text = self.edits[name].text().strip()
            if text:
                data[name] = text
            else:
                data.pop(name, None)
        size = _frame_value(self.edits["frame_size_px"].text())
        if size is None:
            data.pop("frame_size_px", None)
        else:
            data["frame_size_px"] = size
        return data

    @Slot()
    def validate(self) -> bool:
        """Check the values with the site file's camera model; say what is wrong under each
        field; OK only when nothing is."""
        data = self.values()
        found: dict[str, list[str]] = {name: [] for name in self.problems}
        try:
            Camera.model_validate(data, context={"base_dir": self.base_dir})
        except ValidationError as exc:
            for problem in problems_of(exc):
                name = problem.path.split(".")[0].split("[")[0]
                found.setdefault(name if name in found else "source", []).append(problem.message)
        if data.get("id") in self.taken_ids:
            found["id"].append("another camera has this id")
        for name, label in self.problems.items():
            label.say(found.get(name, []))
        ok = not any(found.values())
        self.ok_button.setEnabled(ok)
        return ok

    def _accept(self) -> None:
        if self.validate():
            self.grabber.close()
            self.accept()

    def done(self, result: int) -> None:
        self.grabber.close()
        super().done(result)

    # -- the connection test ---------------------------------------------------------------

    @Slot()
    def test_connection(self) -> None:
        """Open what the detector reads (the sub-stream, else the stream), off this thread."""
        data = self.values()
        source = str(data.get("substream") or data.get("source") or "")
        self.result_line.setText(f"Connecting to {mask_credentials(source, hide_user=True)} …")
        self.test_button.setEnabled(False)
        self.grabber.grab(source, credentials=data.get("credentials"), base_dir=self.base_dir)

    @Slot(object)
    def _grabbed(self, grab: Grab) -> None:
        self.grab_result = grab
        self.test_button.setEnabled(True)
        shown = mask_credentials(grab.source, hide_user=True)
        if grab.image is None:
            self.result_line.setText(f"⚠ No picture from {shown}: {grab.reason}")
            self.result_line.setStyleSheet("color: #d06a64;")
            self.preview.clear()
            self.use_size_button.setEnabled(False)
            return
        width, height = grab.size or (0, 0)
        self.result_line.setText(f"Live: a {width} x {height} px frame from {shown}")
        self.result_line.setStyleSheet("")
        self.preview.setPixmap(
            pixmap_of(grab.image).scaled(
                self.preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.use_size_button.setEnabled(True)

    def _use_size(self) -> None:
        if self.grab_result is not None and self.grab_result.size is not None:
            width, height = self.grab_result.size
            self.edits["frame_size_px"].setText(f"{width} x {height}")
            self.validate()
