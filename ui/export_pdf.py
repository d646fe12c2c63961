"""The export's PDF report, drawn with Qt's own PDF writer (`QPdfWriter`, `QPainter`,
`QTextDocument`; no other dependency): a cover with the export's facts, summary figures and bar
charts (incidents per rule, per outcome, time to acknowledge), then a block per incident (its
facts, its timeline, its snapshot), several to a page, written as the incidents stream by.

It runs without a display: with no Qt application yet, one is made on the `offscreen` platform
(unless another is asked for in QT_QPA_PLATFORM).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication

from console.export.names import OUTCOME_WORDS, RULE_WORDS, IncidentPage
from console.export.run import ReportCover

RESOLUTION_DPI = 150
MARGIN_MM = 15.0
MAX_TIMELINE = 40  # lines per incident; the rest are in steps.csv
BAR = QColor(52, 101, 164)
GRID = QColor(200, 200, 200)
INK = QColor(20, 20, 20)


def _application() -> QGuiApplication:
    """The process's Qt application; made (a widgets one, so that a window may come later in the
    same process) on the offscreen platform when there is none."""
    app = QGuiApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["nightwatch-export"])
    assert isinstance(app, QGuiApplication)
    return app


class PdfReport:
    """`begin(path, cover)`, `add(page, snapshot)` per incident, `finish()`."""

    def __init__(self) -> None:
        self._app = _application()
        self._writer: QPdfWriter | None = None
        self._painter: QPainter | None = None
        self._y = 0.0
        self._pages = 0

    # -- geometry

    @property
    def _width(self) -> float:
        assert self._writer is not None
        return float(self._writer.width())

    @property
    def _height(self) -> float:
        assert self._writer is not None
        return float(self._writer.height())

    def _pt(self, points: float) -> float:
        """Points (1/72 inch) in device pixels."""
        return points * RESOLUTION_DPI / 72.0

    def _document(self, markup: str, width: float) -> QTextDocument:
        assert self._writer is not None
        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(self._writer)
        font = QFont("DejaVu Sans")
        font.setPointSizeF(9.0)
        doc.setDefaultFont(font)
        doc.setDefaultStyleSheet(
            "h1 { font-size: 18pt; } h2 { font-size: 12pt; margin: 0; } "
            "td { padding: 1px 6px 1px 0; vertical-align: top; } .k { color: #555; } "
            ".small { font-size: 7.5pt; color: #444; }"
        )
        doc.setHtml(markup)
        doc.setTextWidth(width)
        return doc

    def _draw(self, doc: QTextDocument, x: float, y: float) -> None:
        assert self._painter is not None
        self._painter.save()
        self._painter.translate(x, y)
        doc.drawContents(self._painter)
        self._painter.restore()

    def _new_page(self) -> None:
        assert self._writer is not None
        self._writer.newPage()
        self._pages += 1
        self._y = 0.0

    # -- the report

    def begin(self, path: Path, cover: ReportCover) -> None:
        writer = QPdfWriter(str(path))
        writer.setResolution(RESOLUTION_DPI)
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Portrait,
                QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                QPageLayout.Unit.Millimeter,
            )
        )
        writer.setTitle(f"Nightwatch incidents: {cover.site_name}, {cover.period}")
        writer.setCreator("Nightwatch")
        self._writer = writer
        self._painter = QPainter(writer)
        self._pages = 1
        self._cover(cover)
        self._new_page()

    def _cover(self, cover: ReportCover) -> None:
        s = cover.summary
        e = html.escape
        median = "—" if s.median_ack_s is None else f"{s.median_ack_s:.0f} s"
        facts = [
            ("period", cover.period),
            ("filters", cover.filters),
            ("exported by", f"{cover.exported_by} on {cover.console}"),
            ("exported at", cover.exported_at),
            ("audit chain head", cover.audit_head),
            ("signing key", cover.public_key),
        ]
        figures = [
            ("incidents", str(s.incidents)),
            ("acknowledged", f"{s.acknowledged} (median {median})"),
            ("escalated", str(s.escalated)),
            ("under hold", str(s.on_hold)),
        ]
        rows = "".join(
            f"<tr><td class='k'>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts + figures
        )
        markup = (
            f"<h1>Incident report: {e(cover.site_name)}</h1>"
            f"<table>{rows}</table>"
            f"<p class='small'>Times are in {e(cover.time_zone)} unless marked UTC. "
            f"{e(cover.details_note)} {e(cover.blur_note)} Check the export's files with "
            "<b>nightwatch verify</b> against the signing key above.</p>"
        )
        doc = self._document(markup, self._width)
        self._draw(doc, 0, 0)
        y = doc.size().height() + self._pt(12)
        chart_h = self._pt(150)
        charts = [
            ("Incidents per rule", [(RULE_WORDS.get(k, k), v) for k, v in s.by_rule.most_common()]),
            (
                "Incidents per outcome",
                [(OUTCOME_WORDS.get(k, k), v) for k, v in s.by_outcome.most_common()],
            ),
            ("Time to acknowledge", s.ack_distribution()),
        ]
        for title, items in charts:
            if y + chart_h > self._height:
                self._new_page()
                y = 0.0
            self._bars(QRectF(0, y, self._width, chart_h), title, items)
            y += chart_h + self._pt(10)

    def _bars(self, rect: QRectF, title: str, items: list[tuple[str, int]]) -> None:
        """A horizontal bar chart: a label, a bar and its count per item."""
        p = self._painter
        assert p is not None
        p.save()
        title_font = QFont("DejaVu Sans")
        title_font.setPointSizeF(11)
        title_font.setBold(True)
        p.setFont(title_font)
        p.setPen(INK)
        title_h = self._pt(18)
        p.drawText(QRectF(rect.left(), rect.top(), rect.width(), title_h), title)
        items = items[:8] or [("no incidents", 0)]
        body = QRectF(rect.left(), rect.top() + title_h, rect.width(), rect.height() - title_h)
        label_w = rect.width() * 0.32
        count_w = self._pt(40)
        bar_w = body.width() - label_w - count_w
        row_h = body.height() / max(len(items), 4)
        top = max((count for _, count in items), default=0) or 1
        font = QFont("DejaVu Sans")
        font.setPointSizeF(8.5)
        p.setFont(font)
        p.setPen(GRID)
        p.drawLine(
            QPointF(body.left() + label_w, body.top()),
            QPointF(body.left() + label_w, body.top() + row_h * len(items)),
        )
        for i, (label, count) in enumerate(items):
            y = body.top() + i * row_h
            p.setPen(INK)
            p.drawText(
                QRectF(body.left(), y, label_w - self._pt(6), row_h),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            length = bar_w * count / top
            p.fillRect(
                QRectF(body.left() + label_w, y + row_h * 0.15, max(length, 1.0), row_h * 0.7), BAR
            )
            p.drawText(
                QRectF(body.left() + label_w + length + self._pt(4), y, count_w, row_h),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                str(count),
            )
        p.restore()

    def add(self, page: IncidentPage, snapshot: Path | None) -> None:
        e = html.escape
        timeline = list(page.timeline)
        extra = len(timeline) - MAX_TIMELINE
        timeline = timeline[:MAX_TIMELINE]
        facts = "".join(f"<tr><td class='k'>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in page.facts)
        steps = "".join(f"<tr><td>{e(t)}</td><td>{e(what)}</td></tr>" for t, what in timeline)
        more = f"<p class='small'>… {extra} more lines in steps.csv</p>" if extra > 0 else ""
        image = QImage(str(snapshot)) if snapshot is not None else QImage()
        text_w = self._width * (0.58 if not image.isNull() else 1.0)
        doc = self._document(
            f"<h2>{e(page.title)}</h2><table>{facts}</table>"
            f"<p class='small'><b>Timeline</b></p><table class='small'>{steps}</table>{more}",
            text_w,
        )
        text_h = doc.size().height()
        picture: QRectF | None = None
        if not image.isNull():
            box = QSizeF(self._width - text_w - self._pt(8), self._height * 0.3)
            size = QSizeF(image.size()).scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
            picture = QRectF(QPointF(text_w + self._pt(8), 0), size)
        block_h = max(text_h, picture.height() if picture is not None else 0.0) + self._pt(14)
        if self._y > 0 and self._y + block_h > self._height:
            self._new_page()
        self._draw(doc, 0, self._y)
        if picture is not None:
            assert self._painter is not None
            self._painter.drawImage(picture.translated(0, self._y), image)
        self._y += block_h
        assert self._painter is not None
        self._painter.setPen(GRID)
        line_y = self._y - self._pt(7)
        self._painter.drawLine(QPointF(0, line_y), QPointF(self._width, line_y))

    def finish(self) -> None:
        if self._painter is not None:
            self._painter.end()
        self._painter = None
        self._writer = None
