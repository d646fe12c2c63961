"""The console's long-lived objects are kept out of Python's full garbage collections.

A full collection walks every object the interpreter tracks, holding the interpreter lock the
whole time, so every thread of the console stops for it: the window, the core, the pipeline's
dispatch thread, the store's writer. A started console holds about 200,000 such objects
(modules, Qt wrappers, the site, the store's mappings), and one full collection of them took
70-145 ms on the GUI thread of the 2-core bench machine, and 280 ms once on the dispatch thread
(`bench/alarm_burst.py`, which reports the longest collection). The interpreter runs one each
time the objects made since the last one reach a quarter of those it holds, which an alarm burst
(many alarms, rows and pictures made at once) brings about sooner.

Nearly all of those objects live as long as the process. Once the console is up,
`freeze_startup_objects` collects once (so no garbage is kept) and moves what is left to the
interpreter's permanent generation (`gc.freeze`): later full collections walk only what was made
since. Called once per process by the entry points (the window's and the headless run's), once
the site runtime and the window are built; a second call does nothing, so objects made later (a
window closed again, a replaced site) stay collectable.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_frozen = False


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
        count = gc.get_freeze_count()
    log.info("%d long-lived objects kept out of later garbage collections", count)
    return count
