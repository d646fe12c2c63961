"""The clip player (pytest-qt, offscreen) on a real clip file: the boxes are painted over the
frames where the stored samples say, in the alarm's colour for the alarm's person, at the right
moments; it plays, pauses, seeks; its decoder thread is joined when it is unloaded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from console.site_file import Site, load_site
from tests.clips import GREY, grey_clip
from tests.sites import courtyard_site
from ui.alarm_words import severity_role
from ui.clip_player import ClipPlayer, ClipShown, Overlay
from ui.theme import PALETTE

START = datetime(2026, 11, 30, 1, 14, 5, tzinfo=UTC)
T0 = START.timestamp()


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return load_site(courtyard_site(tmp_path))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return grey_clip(tmp_path / "clip.mkv", START, seconds=4.0)


def overlay() -> Overlay:
    """Person 7 (the alarm's) stands still at x 100-300 for the clip's first 1.2 s; person 9
    walks right from x 400 over the same time; then nobody (a box holds 2 s after its last
    sample: the detector looks at a quiet camera seconds apart)."""
    boxes = []
    for n in range(7):  # every 0.2 s
        t = T0 + 0.2 * n
        boxes.append([t, 7, 100, 80, 300, 280])
        boxes.append([t, 9, 400 + 10 * n, 100, 460 + 10 * n, 300])
    return Overlay.of({"size": [640, 360], "tracks": [7], "boxes": boxes})


def close_to(color: QColor, want: QColor, tolerance: int = 40) -> bool:
    return all(
        abs(a - b) <= tolerance for a, b in zip(color.getRgb()[:3], want.getRgb()[:3], strict=True)
    )


def test_the_box_is_painted_where_the_stored_box_says(qtbot, site: Site, clip: Path) -> None:
    player = ClipPlayer(site)
    qtbot.addWidget(player)
    player.resize(640, 420)
    with qtbot.waitExposed(player):
        player.show()
    view = player.view
    view.setFixedSize(640, 360)  # the clip's own size: one frame pixel is one widget pixel
    player.load(ClipShown(clip, START, overlay(), severity="high"))
    assert wait_until(lambda: player.frames_shown >= 1), player.view.message
    assert player.position_s == pytest.approx(0.0)
    image = view.grab().toImage()  # painted now: the frame, then the boxes
    assert set(view.boxes_drawn) == {7, 9}
    assert view.boxes_drawn[7].getRect() == pytest.approx((100, 80, 200, 200))
    alarm_color = PALETTE.qcolor(severity_role("high"))
    for x, y in ((100, 180), (300, 180), (200, 80), (200, 280)):  # the four edges
        assert close_to(image.pixelColor(x, y), alarm_color), (x, y, image.pixelColor(x, y))
    inside = image.pixelColor(200, 180)  # the frame itself, untouched inside the box
    assert close_to(inside, QColor(GREY, GREY, GREY), 12)
    outside = image.pixelColor(40, 330)
    assert close_to(outside, QColor(GREY, GREY, GREY), 12)
    other = image.pixelColor(400, 200)  # person 9: thin, in the people's colour
    assert close_to(other, PALETTE.qcolor("person_box"), 70)
    assert not close_to(other, alarm_color, 30)

    player.seek(1.0)  # person 9 has walked 50 px on
    assert wait_until(lambda: player.position_s == pytest.approx(1.0, abs=0.06))
    view.grab()
    assert view.boxes_drawn[9].left() == pytest.approx(450, abs=1)
    player.seek(3.5)  # nobody was tracked then: no box at all
    assert wait_until(lambda: player.position_s == pytest.approx(3.5, abs=0.06))
    later = view.grab().toImage()
    assert view.boxes_drawn == {}
    assert close_to(later.pixelColor(100, 180), QColor(GREY, GREY, GREY), 12)
    player.unload()
    assert not player.is_running


def test_it_plays_in_time_order_pauses_and_plays_again_from_the_start(
    qtbot, site: Site, clip: Path
) -> None:
    player = ClipPlayer(site)
    qtbot.addWidget(player)
    shown: list[float] = []
    player.frame_shown.connect(shown.append)
    player.load(ClipShown(clip, START, Overlay(), severity="medium"))
    assert wait_until(lambda: player.frames_shown >= 1)
    player.play()
    assert player.play_button.text() == "Pause"
    assert wait_until(lambda: not player.playing, 30)  # played to its end
    assert shown == sorted(shown)
    assert len(shown) >= 35  # 40 frames in 4 s; a busy machine may skip none: all are decoded
    assert shown[-1] == pytest.approx(3.9, abs=0.05)
    # the site's time: 01:14 UTC is 02:14 in Amsterdam
    assert player.time_label.text().startswith("2026-11-30 02:14:0")
    played = len(shown)
    player.play()  # at the end: from the start again
    assert wait_until(lambda: player.position_s < 1.0 and player.frames_shown > played)
    player.pause()
    assert not player.playing
    player.close()
    assert not player.is_running


def test_a_clip_that_cannot_be_opened_says_so(qtbot, site: Site, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"not a clip at all")
    player = ClipPlayer(site)
    qtbot.addWidget(player)
    player.load(ClipShown(broken, START))
    assert wait_until(lambda: "cannot be opened" in player.view.message)
    player.unload()
