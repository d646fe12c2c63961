"""Sites for the reliability battery, written into a temp folder: N cameras on given sources, two
protected objects, one zone over the whole floor, two guards, open all day (no after-hours
alarms unless a finding is injected), and only the rules a check needs."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

PLAN = Path(__file__).resolve().parents[1] / "data" / "example_site" / "plans" / "ground.png"
RULES = ("proximity", "after_hours", "loitering", "restricted", "object_missing", "camera_health")
OBJECTS = ("obj-a", "obj-b")
ZONE = "hall"
GUARDS = ("g-anna", "g-ben")


def camera_id(index: int) -> str:
    return f"cam-{index:02d}"


def reliability_site(
    folder: Path,
    sources: Sequence[str],
    *,
    rules: Sequence[str] = (),
    video_loss_s: float = 10.0,
    frozen_s: float = 30.0,
    rearm_s: float = 30.0,
) -> Path:
    """Write `folder/site.yaml` (and its plan) with one camera per source; returns its path.
    `rules` are the rules enabled (camera_health with `video_loss_s` and `frozen_s`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plans").mkdir(exist_ok=True)
    shutil.copy(PLAN, folder / "plans" / "ground.png")
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    lines = [
        "version: 1",
        "site: {name: Reliability battery, timezone: Europe/Amsterdam}",
        "opening_hours: {" + ", ".join(f'{d}: "00:00-23:59"' for d in days) + "}",
        "floors:",
        "  - {id: ground, name: Ground floor, plan: plans/ground.png, metres_per_pixel: 0.02}",
        "cameras:",
    ]
    for i, source in enumerate(sources):
        x, y = 60 + (i % 8) * 130, 60 + (i // 8) * 90
        lines.append(
            f"  - {{id: {camera_id(i)}, name: Camera {i:02d}, floor: ground, "
            f"source: '{source}', plan_position: [{x}, {min(y, 780)}]}}"
        )
    lines += [
        "protected_objects:",
        "  - {id: obj-a, name: Portrait, floor: ground, kind: painting, value: high,"
        " plan_polygon: [[100, 40], [160, 40], [160, 50], [100, 50]], min_distance_m: 1.0}",
        "  - {id: obj-b, name: Bronze, floor: ground, kind: sculpture, value: medium,"
        " plan_polygon: [[600, 400], [640, 400], [640, 440], [600, 440]], min_distance_m: 0.6}",
        "zones:",
        f"  - {{id: {ZONE}, name: Hall, floor: ground, kind: gallery,"
        " plan_polygon: [[10, 10], [1190, 10], [1190, 790], [10, 790]], loiter_s: 600}",
        "rules:",
    ]
    for rule in RULES:
        enabled = "true" if rule in rules else "false"
        extra = (
            f", video_loss_s: {video_loss_s}, frozen_s: {frozen_s}"
            if rule == "camera_health"
            else ""
        )
        lines.append(f"  {rule}: {{enabled: {enabled}{extra}}}")
    lines += [
        f"alarms: {{rearm_s: {rearm_s}}}",
        "guards:",
        "  - {id: g-anna, name: Anna, post: Main hall}",
        "  - {id: g-ben, name: Ben, post: East stair}",
    ]
    path = folder / "site.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
