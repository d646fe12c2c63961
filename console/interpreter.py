"""How the console's process shares the Python interpreter between its threads.

The window, the core, the pipeline's dispatch thread, the store's writer and the evidence worker
share one process, so they share Python's interpreter lock. Three settings of the interpreter
decide how long one of them can make the others wait; `settle_interpreter` sets them, once per
process, from the entry points (the window's and the headless run's) once the console is built.

**The lock changes hands every 0.5 ms** (`SWITCH_INTERVAL_S`; Python's default is 5 ms). The
window calls into Qt thousands of times a second, and PySide lets go of the lock at each call
and takes it back after it. While another thread runs Python, each take-back waits until that
thread is asked to let go, up to the switch interval. Measured with `bench/plan_labels.py`'s
child: one pass of the plan's labels took 33 ms alone and 3.8 s with one other thread running
Python at the default 5 ms; 0.94 s at 1 ms, 0.56 s at 0.5 ms. The other threads lose little:
they are asked to let go more often, and do only when another thread is waiting.

**Full garbage collections walk only what is new.** A full collection holds the lock while it
walks every object Python tracks. A started console holds about 200,000 (modules, Qt wrappers,
the site, the store's mappings), and one walk took 70-145 ms on the GUI thread of the 2-core
bench machine and 280-320 ms on others (`bench/alarm_burst.py` and the reliability flood report
them). Nearly all of them live as long as the process: `freeze_startup_objects` collects once
(so no garbage is kept) and moves what is left to the interpreter's permanent generation
(`gc.freeze`), and later full collections walk only what was made since. A second call does
nothing, so objects made later (a window closed again, a replaced site) stay collectable.

**Full collections come ten times less often** (`FULL_COLLECTION_AFTER`: a full collection after
100 collections of the middle generation instead of Python's 10). What is walked after the
freeze is small (78,525 objects at the end of the reliability flood: alarms, the queue's items),
but on a busy 2-core machine one walk of it still took 66-169 ms, all threads stopped, and
those walks were the flood's longest stalls. Over 3 alternating flood runs each (2026-12-01
15:20-15:32) the flood saw no full collection at 100 against 3-4 at 10, and its GUI latency p99
was 87 / 71 / 86 ms against 129 / 78 / 83 ms, the longest stall 124 / 96 / 122 ms against
216 / 119 / 105 ms. Python still collects in full when the middle generation has been collected
that often and the long-lived objects grew by a quarter since the last full collection, so
garbage in reference cycles is still freed, only later; most of the console's garbage goes
with its last reference and never waits for a collection.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005
"""How long a thread may run Python while another waits for the lock (Python's default: 5 ms)."""

FULL_COLLECTION_AFTER = 100
"""Collections of the middle generation before a full one may run (Python's default: 10)."""

_lock = threading.Lock()
_frozen = False


def settle_interpreter() -> None:
    """The console's settings of the interpreter: the lock shared finely, the startup objects
    out of later full collections, full collections less often."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
    frozen = freeze_startup_objects()
    log.info(
        "%d long-lived objects kept out of later garbage collections, a full collection at "
        "most every %d of the middle generation; the interpreter lock changes hands every "
        "%.1f ms",
        frozen,
        FULL_COLLECTION_AFTER,
        sys.getswitchinterval() * 1000,
    )


def freeze_startup_objects() -> int:
    """Collect once, then keep every object alive now out of later collections; the number of
    objects frozen (0 when this process has already done it)."""
    global _frozen
    with _lock:
        if _frozen:
            return 0
        _frozen = True
        gc.collect()
        gc.freeze()
        return gc.get_freeze_count()
