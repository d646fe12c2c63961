"""One columnar value type for detections and tracks.

A `Detections` holds N people (or other classes) as parallel numpy arrays. It is frozen: the
arrays are read-only and every filter returns a new value, so a result can be shared between
threads and cameras without copies or locks:

    people = dets[dets.confidence >= 0.5]
    feet = people.foot_points          # (N, 2) bottom centre of each box, image pixels
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

PERSON_CLASS_ID = 0
CLASS_NAMES: dict[int, str] = {PERSON_CLASS_ID: "person"}

Index = int | slice | npt.NDArray[np.bool_] | npt.NDArray[np.integer[Any]] | list[int]


def _frozen(array: npt.ArrayLike, dtype: npt.DTypeLike, shape_tail: tuple[int, ...]) -> np.ndarray:
    out = np.array(array, dtype=dtype, copy=True).reshape((-1, *shape_tail))
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """N detections in one image: boxes (x1, y1, x2, y2) in pixels, scores, classes, track ids.

    `track_id` is -1 for detections not (yet) assigned to a track.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    track_id: np.ndarray

    def __init__(
        self,
        xyxy: npt.ArrayLike,
        confidence: npt.ArrayLike,
        class_id: npt.ArrayLike | None = None,
        track_id: npt.ArrayLike | None = None,
    ) -> None:
        boxes = _frozen(xyxy, np.float32, (4,))
        n = len(boxes)
        scores = _frozen(confidence, np.float32, ())
        classes = _frozen(
            np.full(n, PERSON_CLASS_ID) if class_id is None else class_id, np.int32, ()
        )
        tracks = _frozen(np.full(n, -1) if track_id is None else track_id, np.int64, ())
        for name, column in (("confidence", scores), ("class_id", classes), ("track_id", tracks)):
            if len(column) != n:
                raise ValueError(f"Detections.{name} has {len(column)} rows, xyxy has {n}")
        object.__setattr__(self, "xyxy", boxes)
        object.__setattr__(self, "confidence", scores)
        object.__setattr__(self, "class_id", classes)
        object.__setattr__(self, "track_id", tracks)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Index) -> Detections:
        if isinstance(index, int):
            index = [index]
        return Detections(
            self.xyxy[index], self.confidence[index], self.class_id[index], self.track_id[index]
        )

    def __iter__(self) -> Iterator[Detections]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detections):
            return NotImplemented
        return (
            np.array_equal(self.xyxy, other.xyxy)
            and np.array_equal(self.confidence, other.confidence)
            and np.array_equal(self.class_id, other.class_id)
            and np.array_equal(self.track_id, other.track_id)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays: unhashable, as numpy's own

    def __repr__(self) -> str:
        return f"Detections(n={len(self)}, tracked={int((self.track_id >= 0).sum())})"

    @property
    def foot_points(self) -> np.ndarray:
        """Bottom centre of each box, (N, 2) image pixels: where the person stands."""
        x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2.0
        return np.stack([x, self.xyxy[:, 3]], axis=1)

    @property
    def centres(self) -> np.ndarray:
        """Centre of each box, (N, 2) image pixels."""
        return np.stack(
            [(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2.0, (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2.0],
            axis=1,
        )

    @property
    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    def with_track_ids(self, track_id: npt.ArrayLike) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, track_id)

    def clipped(self, width: int, height: int) -> Detections:
        """Boxes clipped to an image of `width` x `height`; boxes left with no area are dropped."""
        boxes = self.xyxy.copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return Detections(
            boxes[keep], self.confidence[keep], self.class_id[keep], self.track_id[keep]
        )

    @staticmethod
    def concatenate(parts: list[Detections]) -> Detections:
        if not parts:
            return Detections.empty()
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            np.concatenate([p.track_id for p in parts]),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """Plain JSON-ready rows: class name, confidence (3 decimals), box (1 decimal)."""
        rows: list[dict[str, Any]] = []
        for i in range(len(self)):
            row: dict[str, Any] = {
                "class": CLASS_NAMES.get(int(self.class_id[i]), str(int(self.class_id[i]))),
                "confidence": round(float(self.confidence[i]), 3),
                "box": [round(float(v), 1) for v in self.xyxy[i]],
            }
            if self.track_id[i] >= 0:
                row["track_id"] = int(self.track_id[i])
            rows.append(row)
        return rows


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` (N, 4) with every box in `b` (M, 4): (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
