"""The control-room theme: a calm dark palette, scalable fonts, high-DPI friendly.

Every colour lives once, in `PALETTE`; the stylesheet (`resources/theme/dark.qss`) is a template
filled from it, and widgets that paint themselves (the video wall's tiles) read the same values.
Colour is never the only signal: each state also has a word and a shape (see `StateMark`).

    configure_high_dpi()                 # before the QApplication exists
    app = QApplication(sys.argv)
    apply_theme(app, font_scale=1.25)    # bigger text for a wall across the room
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

STYLESHEET_PATH = Path(__file__).resolve().parents[1] / "resources" / "theme" / "dark.qss"
BASE_FONT_PT = 10.0
MIN_FONT_SCALE = 0.6
MAX_FONT_SCALE = 3.0


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours as '#rrggbb' strings, named by their role, never by their hue."""

    wall: str = "#0b0d10"  # behind the video tiles: darker than anything else
    background: str = "#111418"
    surface: str = "#171b20"  # panels, lists, tile backgrounds without an image
    surface_raised: str = "#1f242b"
    border: str = "#2b323b"
    text: str = "#c5ccd4"  # soft off-white: no pure white at night
    muted: str = "#7f8a96"
    focus: str = "#6d9fd6"
    selection: str = "#28405c"
    live: str = "#6fae82"
    connecting: str = "#8c9aab"
    stalled: str = "#d2a24c"
    offline: str = "#d06a64"
    person_box: str = "#e3c35a"
    label_backdrop: str = "#0b0d10"  # behind text drawn over video (with alpha, see below)

    def qcolor(self, role: str, alpha: int = 255) -> QColor:
        color = QColor(getattr(self, role))
        color.setAlpha(alpha)
        return color


PALETTE = Palette()


@dataclass(frozen=True, slots=True)
class ThemeSettings:
    font_pt: float
    heading_pt: float
    control_px: int


def theme_settings(font_scale: float = 1.0, base_font_pt: float = BASE_FONT_PT) -> ThemeSettings:
    """Font sizes for a scale factor (clamped to a readable range)."""
    scale = min(MAX_FONT_SCALE, max(MIN_FONT_SCALE, font_scale))
    font_pt = round(base_font_pt * scale, 1)
    return ThemeSettings(
        font_pt=font_pt,
        heading_pt=round(font_pt * 1.3, 1),
        control_px=round(font_pt * 2.4),
    )


def stylesheet(
    font_scale: float = 1.0, palette: Palette = PALETTE, path: Path = STYLESHEET_PATH
) -> str:
    """The stylesheet text with its placeholders filled in."""
    settings = theme_settings(font_scale)
    values: dict[str, object] = {**asdict(palette), **asdict(settings)}
    return Template(path.read_text(encoding="utf-8")).substitute(values)


def qt_palette(palette: Palette = PALETTE) -> QPalette:
    """A QPalette with the same colours, for widgets and styles that ignore the stylesheet."""
    qp = QPalette()
    roles = {
        QPalette.ColorRole.Window: palette.background,
        QPalette.ColorRole.WindowText: palette.text,
        QPalette.ColorRole.Base: palette.surface,
        QPalette.ColorRole.AlternateBase: palette.surface_raised,
        QPalette.ColorRole.ToolTipBase: palette.surface_raised,
        QPalette.ColorRole.ToolTipText: palette.text,
        QPalette.ColorRole.PlaceholderText: palette.muted,
        QPalette.ColorRole.Text: palette.text,
        QPalette.ColorRole.Button: palette.surface_raised,
        QPalette.ColorRole.ButtonText: palette.text,
        QPalette.ColorRole.BrightText: palette.text,
        QPalette.ColorRole.Highlight: palette.selection,
        QPalette.ColorRole.HighlightedText: palette.text,
        QPalette.ColorRole.Link: palette.focus,
    }
    for role, color in roles.items():
        qp.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
        qp.setColor(QPalette.ColorGroup.Disabled, role, QColor(palette.muted))
    return qp


def configure_high_dpi() -> None:
    """Call before creating the QApplication: keep fractional scale factors (125 %, 150 %) exact
    instead of rounding them, so text and tiles are crisp and correctly sized on any screen."""
    if QGuiApplication.instance() is not None:
        log.warning("configure_high_dpi() called after the QApplication was created; ignored")
        return
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )


def apply_theme(app: QApplication, font_scale: float = 1.0, palette: Palette = PALETTE) -> None:
    """Apply the dark theme and the font size to the whole application (again to rescale)."""
    settings = theme_settings(font_scale)
    app.setStyle("Fusion")  # the same look on every platform, and it honours the palette
    app.setPalette(qt_palette(palette))
    font = QFont(app.font())
    font.setPointSizeF(settings.font_pt)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # smooth at any DPI
    app.setFont(font)
    app.setStyleSheet(stylesheet(font_scale, palette))
    log.info("theme applied: dark, %.1f pt", settings.font_pt)
