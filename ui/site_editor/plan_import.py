"""Importing a floor's plan image into the site's folder.

A PNG or JPEG is copied into the site's `plans/` folder as it is. A PDF (its first page) or an
SVG is rendered through Qt (QtPdf, QtSvg) to a PNG there, at most `MAX_SIDE_PX` on its longer
side: the site file names PNG and JPEG plans only, and `nightwatch check` reads them. The
scale is then set on the plan by drawing a line of known length.

The file is written when it is imported (the site file refers to it once the edit is saved);
an import that is reverted leaves the image in `plans/`, unused.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QImageReader, QPainter

__all__ = ["PlanImportError", "import_plan"]

MAX_SIDE_PX = 4000
PDF_DPI = 150
BITMAPS = {".png", ".jpg", ".jpeg"}


class PlanImportError(ValueError):
    """The file cannot be a plan (the message says why)."""


def _target(site_dir: Path, stem: str, suffix: str) -> Path:
    folder = site_dir / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "plan"
    target = folder / f"{safe}{suffix}"
    n = 2
    while target.exists():
        target = folder / f"{safe}-{n}{suffix}"
        n += 1
    return target


def import_plan(source: Path, site_dir: Path, floor_id: str) -> tuple[str, tuple[int, int]]:
    """Bring `source` into `site_dir/plans/`; returns (its path relative to the site's folder,
    its size in pixels)."""
    source = Path(source)
    if not source.is_file():
        raise PlanImportError(f"{source}: no such file")
    suffix = source.suffix.lower()
    if suffix in BITMAPS:
        reader = QImageReader(str(source))
        size = reader.size()
        if not reader.canRead() or not size.isValid():
            raise PlanImportError(f"{source}: not a readable PNG or JPEG ({reader.errorString()})")
        inside = source.resolve().is_relative_to(site_dir.resolve())
        if inside:
            return source.resolve().relative_to(site_dir.resolve()).as_posix(), (
                size.width(),
                size.height(),
            )
        target = _target(site_dir, f"{floor_id}", ".jpg" if suffix == ".jpeg" else suffix)
        shutil.copyfile(source, target)
        return target.relative_to(site_dir).as_posix(), (size.width(), size.height())
    if suffix == ".svg":
        image = _render_svg(source)
    elif suffix == ".pdf":
        image = _render_pdf(source)
    else:
        raise PlanImportError(f"{source}: a plan is a PNG, JPEG, PDF or SVG file")
    target = _target(site_dir, f"{floor_id}", ".png")
    if not image.save(str(target)):  # the format from its .png suffix
        raise PlanImportError(f"{target}: the rendered plan could not be written")
    return target.relative_to(site_dir).as_posix(), (image.width(), image.height())


def _fit(size: QSize) -> QSize:
    longest = max(size.width(), size.height(), 1)
    scale = min(1.0, MAX_SIDE_PX / longest)
    return QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))


def _render_svg(source: Path) -> QImage:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise PlanImportError(f"{source}: not a readable SVG drawing")
    size = renderer.defaultSize()
    if size.width() <= 0 or size.height() <= 0:
        raise PlanImportError(f"{source}: the SVG drawing has no size")
    # small drawings (an SVG in points) are drawn larger, so a metre is several pixels
    scale = max(1.0, 2000 / max(size.width(), size.height()))
    size = _fit(QSize(round(size.width() * scale), round(size.height() * scale)))
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def _render_pdf(source: Path) -> QImage:
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    error = document.load(str(source))  # a local file loads at once
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        raise PlanImportError(f"{source}: not a readable PDF ({error})")
    points = document.pagePointSize(0)
    size = _fit(QSize(round(points.width() * PDF_DPI / 72), round(points.height() * PDF_DPI / 72)))
    image = document.render(0, size)
    document.close()
    if image.isNull():
        raise PlanImportError(f"{source}: its first page could not be drawn")
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(0xFFFFFFFF)
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat
