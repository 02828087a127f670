"""Keeps the window's own garbage collection out of its frames while a run is on.

The trainer runs in another process (see `hosts`), so the window shares neither its
interpreter lock nor, at the host's lower priority, a core it needs. What is left here:

- a full collection walks every object of the window's process (NumPy, Numba, Qt
  wrappers: ~200,000) and took 50-80 ms. As a run starts, the long-lived objects are
  frozen out of collection (`gc.freeze`); later garbage is still collected, cheaply.
- the collector must run on the GUI thread only: on another thread (the host's reader)
  it may destroy Qt objects (a closed window's widgets caught in a reference cycle) away
  from the GUI thread, and PySide then deadlocks (seen in CI: ~QObject on another thread
  waiting for the GIL while the GUI thread waited for a Qt mutex that destructor held).
  `collect_on_gui_thread` turns automatic collection off and lets the GUI thread
  collect, by the same thresholds, on a timer (pyqtgraph's recipe for the same problem).
- every change to the process's memory map (`brk`, `mprotect`, `mmap`) takes the
  kernel's locks on it, and on this shared machine such a call was seen to wait in the
  kernel for up to 4 s: the GUI thread in `brk`, or the host's reader thread in
  `mprotect` while it held the interpreter lock the GUI thread then waited for. glibc
  grew the reader's arena a page at a time (56-155 calls in a 5 s run). `steady_heap`
  makes one heap for all threads that grows in large steps and keeps what it took, so a
  running window changes its memory map rarely (0-2 calls in a 5 s run).
"""
from __future__ import annotations

import ctypes
import gc
import sys

from PySide6.QtCore import QCoreApplication, QTimer

COLLECT_EVERY_MS = 100
# glibc's mallopt(3) parameters and our values for them
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8
HEAP = {M_ARENA_MAX: 1,                     # every thread allocates from the main heap
        M_TOP_PAD: 64 << 20,                # which grows 64 MiB at a time
        M_TRIM_THRESHOLD: 1 << 30,          # and is not given back below 1 GiB free
        M_MMAP_THRESHOLD: 32 << 20}         # arrays under 32 MiB come from it (glibc's most)

_collector: QTimer | None = None


def collect_on_gui_thread() -> None:
    """From now on only the GUI thread collects garbage (see the module docstring); call
    it on the GUI thread once a QApplication exists. Idempotent."""
    global _collector
    app = QCoreApplication.instance()
    if _collector is not None or app is None:
        return
    gc.disable()
    _collector = QTimer(app)
    _collector.setInterval(COLLECT_EVERY_MS)
    _collector.timeout.connect(collect_due)
    _collector.start()


def collect_due() -> int:
    """Collect the generations whose thresholds are passed, as the automatic collector
    would have; returns the oldest generation collected (-1: none)."""
    thresholds, counts = gc.get_threshold(), gc.get_count()
    if counts[0] <= thresholds[0]:
        return -1
    generation = max(g for g in range(3) if counts[g] > thresholds[g] or g == 0)
    gc.collect(generation)
    return generation


def steady_heap() -> bool:
    """Set glibc's allocator for a window that changes its memory map rarely (see the
    module docstring); True if it took every setting (False off glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):       # another C library (musl has no mallopt)
        return False
    return all(mallopt(param, value) == 1 for param, value in HEAP.items())


def run_starting() -> None:
    """On the GUI thread, as a run starts: what lives now leaves the full collections."""
    gc.freeze()


__all__ = ["run_starting", "collect_on_gui_thread", "collect_due", "steady_heap"]
