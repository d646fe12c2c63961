"""The console's settings of the interpreter: startup objects kept out of later garbage
collections, once per process, with no garbage kept with them; full collections less often; the
lock shared finely. Run in a fresh interpreter: all are process-wide, and freezing is once
only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from console.interpreter import FULL_COLLECTION_AFTER

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import gc, json, weakref
from console.interpreter import freeze_startup_objects

class Room:
    pass

# garbage made before the console is up: a cycle only a collection frees
cycle = Room(); cycle.me = cycle
gone = weakref.ref(cycle)
del cycle
# a long-lived object: the site, say
kept = Room()
first = freeze_startup_objects()
after_first = gc.get_freeze_count()
# made after startup: a window closed again
later = Room(); later.me = later
later_ref = weakref.ref(later)
del later
later_alive = Room()
second = freeze_startup_objects()
gc.collect()
print(json.dumps({
    "first": first,
    "after_first": after_first,
    "second": second,
    "after_second": gc.get_freeze_count(),
    "startup_garbage_freed": gone() is None,
    # frozen: in none of the generations a collection walks
    "kept_frozen": not any(o is kept for o in gc.get_objects()),
    "later_walked": any(o is later_alive for o in gc.get_objects()),
    "later_garbage_freed": later_ref() is None,
}))
"""


SETTLE = """
import gc, json, sys
from console.interpreter import SWITCH_INTERVAL_S, settle_interpreter

before, thresholds = sys.getswitchinterval(), gc.get_threshold()
settle_interpreter()
print(json.dumps({
    "before": before,
    "after": sys.getswitchinterval(),
    "wanted": SWITCH_INTERVAL_S,
    "frozen": gc.get_freeze_count(),
    "thresholds_before": thresholds,
    "thresholds_after": gc.get_threshold(),
}))
"""

# long-lived objects made after startup, as alarms, sightings and queue items are in a flood;
# counts the full collections that run meanwhile (each stops every thread while it walks)
GROWING = """
import gc, json, sys
from console.interpreter import freeze_startup_objects, settle_interpreter

if sys.argv[1] == "settled":
    settle_interpreter()
else:  # the startup objects frozen alone, Python's thresholds kept
    freeze_startup_objects()
full = []

def count(phase, info):
    if phase == "start" and info["generation"] == 2:
        full.append(1)

gc.callbacks.append(count)
kept = []
for i in range(300_000):
    kept.append((i, [i]))
print(json.dumps({"full": len(full)}))
"""


def test_settling_shares_the_lock_finely_and_freezes_the_startup_objects() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SETTLE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == 0.005  # Python's default
    assert seen["wanted"] < seen["before"]
    assert abs(seen["after"] - seen["wanted"]) < 1e-9
    assert seen["frozen"] > 1000
    young, middle, full = seen["thresholds_after"]
    assert [young, middle] == seen["thresholds_before"][:2]  # the young collections as Python's
    assert full == FULL_COLLECTION_AFTER > seen["thresholds_before"][2]


def test_a_settled_console_collects_in_full_less_often_as_its_objects_grow() -> None:
    counts = {}
    for how in ("frozen only", "settled"):
        done = subprocess.run(
            [sys.executable, "-c", GROWING, how.split()[0]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        counts[how] = json.loads(done.stdout.strip().splitlines()[-1])["full"]
    assert counts["frozen only"] >= 3, counts  # Python's thresholds: the growth collects in full
    assert counts["settled"] < counts["frozen only"], counts


def test_startup_objects_are_frozen_once_and_garbage_is_not_kept() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["first"] > 1000  # the interpreter's modules at least
    assert seen["kept_frozen"]
    assert seen["startup_garbage_freed"]  # collected before the freeze, not frozen with it
    assert seen["second"] == 0  # once per process
    assert seen["after_second"] <= seen["after_first"]  # nothing made later was frozen
    assert seen["later_walked"]
    assert seen["later_garbage_freed"]  # and what is made later is still collected
