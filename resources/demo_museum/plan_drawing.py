"""The demo museum's floor plan, drawn with OpenCV: rooms, walls with doors, labels, the
entrances and a scale bar (2800 x 1520 px, 0.02 m per pixel)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from resources.demo_museum.layout import METRES_PER_PIXEL, PLAN_SIZE_PX, WALL_PX, DemoRoom

__all__ = ["draw_plan"]

DOOR_PX = 80  # 1.6 m
_PLAN_BG = (24, 20, 17)  # BGR, outside the building
_PLAN_FLOOR = (43, 36, 30)
_PLAN_RESTRICTED = (38, 33, 48)
_PLAN_WALL = (160, 150, 140)
_PLAN_TEXT = (212, 204, 197)
_PLAN_MUTED = (150, 138, 127)


def draw_plan(rooms: Sequence[DemoRoom]) -> np.ndarray:
    width, height = PLAN_SIZE_PX
    plan = np.zeros((height, width, 3), np.uint8)
    plan[:] = _PLAN_BG
    for room in rooms:
        x1, y1, x2, y2 = room.rect
        colour = _PLAN_RESTRICTED if room.kind == "restricted" else _PLAN_FLOOR
        cv2.rectangle(plan, (x1, y1), (x2, y2), colour, -1)
        if room.kind == "restricted":  # hatched: staff only
            inside = plan[y1:y2, x1:x2]  # a view: lines are clipped to the room
            h = y2 - y1
            for k in range(-h, x2 - x1, 40):
                cv2.line(inside, (k, h), (k + h, 0), (52, 45, 66), 2, cv2.LINE_AA)
    for room in rooms:
        x1, y1, x2, y2 = room.rect
        cv2.rectangle(plan, (x1, y1), (x2, y2), _PLAN_WALL, WALL_PX)
    _cut_doors(plan, rooms)
    for room in rooms:
        _label(plan, room)
    _entrance_arrow(plan, (40, 760), "Main entrance", to_left=True)
    _entrance_arrow(plan, (2760, 1120), "Staff entrance", to_left=False)
    _scale_bar(plan, (2360, 1505))
    cv2.putText(
        plan,
        "Nightwatch demo museum - ground floor",
        (40, 1508),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6,
        _PLAN_MUTED,
        1,
        cv2.LINE_AA,
    )
    return plan


def _door(plan: np.ndarray, centre: tuple[int, int], vertical: bool, span: int = DOOR_PX) -> None:
    x, y = centre
    half = span // 2
    t = WALL_PX // 2 + 1
    if vertical:  # a door in a vertical wall
        cv2.rectangle(plan, (x - t, y - half), (x + t, y + half), _PLAN_FLOOR, -1)
    else:
        cv2.rectangle(plan, (x - half, y - t), (x + half, y + t), _PLAN_FLOOR, -1)


def _cut_doors(plan: np.ndarray, rooms: Sequence[DemoRoom]) -> None:
    for room in rooms:
        if room.kind != "gallery" or room.id == "entrance-hall":
            continue
        x1, y1, x2, y2 = room.rect
        cx = (x1 + x2) // 2
        _door(plan, (cx, y2 if y1 < 640 else y1), vertical=False, span=160)  # to the corridor
        if x2 < 2400:
            _door(plan, (x2, (y1 + y2) // 2), vertical=True)  # to the next gallery
    _door(plan, (400, 760), vertical=True, span=200)  # hall -> corridor
    _door(plan, (400, 340), vertical=True)  # hall -> gallery 1
    _door(plan, (400, 1180), vertical=True)  # hall -> gallery 5
    _door(plan, (2400, 700), vertical=True)  # corridor -> store
    _door(plan, (2400, 820), vertical=True)  # corridor -> staff entrance
    _door(plan, (40, 760), vertical=True, span=200)  # main entrance
    _door(plan, (2760, 1120), vertical=True, span=120)  # staff entrance


def _label(plan: np.ndarray, room: DemoRoom) -> None:
    x1, y1, x2, _ = room.rect
    head, sep, rest = room.name.partition(": ")
    if not sep:
        head, sep, rest = room.name.partition(" (")
        rest = f"({rest}" if sep else rest
    lines = [head, rest] if rest else [head]
    if room.kind == "restricted":
        lines = [head, "STAFF ONLY"]
    y = y1 + 44
    for k, line in enumerate(lines):
        scale = 0.9 if k == 0 else 0.7
        (w, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = max(x1 + 16, (x1 + x2) // 2 - w // 2)
        cv2.putText(plan, line, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, _PLAN_TEXT, 2, cv2.LINE_AA)
        y += 34


def _entrance_arrow(plan: np.ndarray, at: tuple[int, int], text: str, *, to_left: bool) -> None:
    x, y = at
    start, end = ((x - 30, y), (x + 70, y)) if to_left else ((x + 30, y), (x - 70, y))
    cv2.arrowedLine(plan, start, end, _PLAN_TEXT, 3, cv2.LINE_AA, tipLength=0.3)
    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
    tx = x + 24 if to_left else x - 24 - w
    cv2.putText(plan, text, (tx, y - 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, _PLAN_TEXT, 2, cv2.LINE_AA)


def _scale_bar(plan: np.ndarray, right_end: tuple[int, int]) -> None:
    x2, y = right_end
    length = round(5 / METRES_PER_PIXEL)  # 5 m
    x1 = x2 - length
    cv2.line(plan, (x1, y), (x2, y), _PLAN_TEXT, 3)
    for x in (x1, x2):
        cv2.line(plan, (x, y - 8), (x, y + 8), _PLAN_TEXT, 3)
    cv2.putText(
        plan, "5 m", (x1 - 60, y + 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, _PLAN_TEXT, 1, cv2.LINE_AA
    )
