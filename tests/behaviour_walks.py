"""Scripted visitors for the behaviour tests: boxes moved along plan paths frame by frame, on a fake
clock, through the real presence model and the real behaviour model.

    walks = ScriptedWalks(site, start)
    walks.look("cam-east", {7: walks.at_plan("cam-east", (760, 100), RED_COAT)})   # one second
    walks.advisories          # everything the model reported, in order
    walks.audit               # the audit rows the model handed over (a fake sink: a list)

The fakes are the boxes (no detector) and the clock; the appearance of each box is measured by
the real `appearances` from a frame painted with the visitor's clothes (two colours, coat above
trousers), so following across cameras is judged on real colour histograms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from console.behaviour.appearance import appearances
from console.behaviour.model import Advisory, BehaviourModel
from console.clock import FakeClock
from console.presence import CameraPresence, Observation, Presence
from console.site_file import Site
from inference.detections import Detections

FRAME = (1280, 720)

Colour = tuple[int, int, int]  # BGR
Clothes = tuple[Colour, Colour]  # coat, trousers

PALETTE: tuple[Colour, ...] = (
    (40, 40, 200),
    (200, 60, 40),
    (40, 180, 40),
    (0, 200, 230),
    (180, 40, 180),
    (200, 200, 40),
    (30, 110, 230),
    (120, 120, 120),
    (240, 240, 240),
    (20, 20, 20),
)


def clothes(n: int) -> Clothes:
    """A visitor's clothes from the palette; different n give different pairs."""
    return PALETTE[n % len(PALETTE)], PALETTE[(n // len(PALETTE) + n + 3) % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class Person:
    """One scripted person at one look: their box in the camera's frame and their clothes."""

    box: tuple[float, float, float, float]
    clothes: Clothes


@dataclass
class ScriptedWalks:
    site: Site
    start: datetime
    model: BehaviourModel | None = None
    clock: FakeClock = field(init=False)
    presence: Presence = field(init=False)
    advisories: list[Advisory] = field(default_factory=list)
    audit: list[tuple[str, str, str, dict[str, object]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clock = FakeClock(self.start)
        self.presence = Presence(self.site)
        if self.model is None:
            self.model = BehaviourModel(self.site, audit=self._audit)

    def _audit(self, user: str, action: str, target: str, detail: dict[str, object]) -> None:
        self.audit.append((user, action, target, detail))

    @property
    def behaviour(self) -> BehaviourModel:
        assert self.model is not None
        return self.model

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def camera_s(self) -> float:
        return (self.clock.now() - self.start).total_seconds()

    # -- boxes ---------------------------------------------------------------------------------

    def at_plan(
        self, camera_id: str, plan_xy: tuple[float, float], wear: Clothes, height: float = 200.0
    ) -> Person:
        """A person standing at a plan point, as a calibrated camera sees them."""
        calibration = self.site.calibration(camera_id)
        assert calibration is not None, f"{camera_id} is not calibrated"
        x, y = (float(v) for v in calibration.plan_to_image_px([plan_xy])[0])
        return Person((x - height / 4, y - height, x + height / 4, y), wear)

    @staticmethod
    def at_image(foot: tuple[float, float], wear: Clothes, height: float = 200.0) -> Person:
        x, y = foot
        return Person((x - height / 4, y - height, x + height / 4, y), wear)

    # -- looking -------------------------------------------------------------------------------

    def look(self, camera_id: str, people: Mapping[int, Person], dt: float = 1.0) -> list[Advisory]:
        """`dt` seconds pass, then one judged frame of `camera_id` showing `people`."""
        self.clock.advance(dt)
        now = self.clock.now()
        ids = list(people)
        boxes = [list(people[t].box) for t in ids]
        dets = Detections(boxes, [0.9] * len(ids), track_id=ids) if ids else Detections.empty()
        camera = self.presence.update(Observation(camera_id, self.camera_s(), dets, FRAME), now)
        image = paint([people[t] for t in ids])
        looks = dict(zip(ids, appearances(image, boxes), strict=True))
        found = self.behaviour.observe(camera, now, looks)
        self.behaviour.tick(now)
        self.advisories.extend(found)
        return found

    def idle(self, seconds: float, cameras: Iterable[str] = ()) -> None:
        """Time passes with nobody in view (empty looks of `cameras`, a tick each second)."""
        for _ in range(round(seconds)):
            if cameras:
                for camera_id in cameras:
                    self.look(camera_id, {}, dt=1.0 / len(list(cameras)))
            else:
                self.clock.advance(1.0)
                self.behaviour.tick(self.clock.now())

    def camera(self, camera_id: str) -> CameraPresence:
        return self.presence.camera(camera_id)


def paint(people: Iterable[Person]) -> np.ndarray:
    """A dark frame with each person's box painted: coat on the upper half, trousers below."""
    image = np.full((FRAME[1], FRAME[0], 3), 60, dtype=np.uint8)
    for person in people:
        x1, y1, x2, y2 = (round(v) for v in person.box)
        x1, x2 = max(0, x1), min(FRAME[0], x2)
        y1, y2 = max(0, y1), min(FRAME[1], y2)
        middle = (y1 + y2) // 2
        image[y1:middle, x1:x2] = person.clothes[0]
        image[middle:y2, x1:x2] = person.clothes[1]
    return image
