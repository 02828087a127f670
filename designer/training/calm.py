"""Keeps the window smooth while the trainer runs on a thread of the same process.

Measured with tests/benchmarks/bench_gui_latency.py, three things stalled the event loop
for 50-170 ms while training, besides the panels' own drawing:

- the CPU: the trainer keeps both cores busy (its thread plus BLAS and Numba workers),
  so the GUI thread and Qt's paint helpers waited for a core. The training threads run
  at a lower priority (a higher nice value, Linux), so the window gets a core the moment
  it has work and training takes every cycle it leaves.
- the GIL: each Python call from Qt (a paint, a signal) needs the GIL, and a thread
  waiting for it waits up to the switch interval (5 ms) while the trainer runs Python
  between kernels; a frame makes dozens of such calls. The interval is 0.2 ms while a
  run is on (1 ms still let a frame of the small networks, whose trainer runs mostly
  Python, wait 50-80 ms in all).
- the garbage collector: a full collection walks every object of the process (NumPy,
  Numba, Qt wrappers: ~200,000) and took 50-80 ms. Once the run is set up, the long-lived
  objects are frozen out of collection (`gc.freeze`); later garbage is still collected,
  cheaply.

The collector also must not run on the training thread at all: there it may destroy Qt
objects (a closed window's widgets caught in a reference cycle) away from the GUI thread,
and PySide then deadlocks (seen in CI: ~QObject on the training thread waiting for the GIL
while the GUI thread waited for a Qt mutex that destructor held). `collect_on_gui_thread`
turns automatic collection off and lets the GUI thread collect, by the same thresholds,
on a timer (pyqtgraph's recipe for the same problem).
"""
from __future__ import annotations

import gc
import os
import sys
import threading

from PySide6.QtCore import QCoreApplication, QTimer

SWITCH_INTERVAL_S = 0.0002
COLLECT_EVERY_MS = 100
TRAINING_NICE = 10           # nice value of the training threads (the window keeps 0)

_saved_interval: float | None = None
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


def run_starting() -> None:
    """On the GUI thread, as a run starts: a short GIL switch interval."""
    global _saved_interval
    if _saved_interval is None:
        _saved_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def run_ended() -> None:
    """On the GUI thread, once the run's thread has ended: the usual interval again."""
    global _saved_interval
    if _saved_interval is not None:
        sys.setswitchinterval(_saved_interval)
        _saved_interval = None


def settle() -> None:
    """On the training thread, after setup and after the first step (when the kernels
    are loaded): freeze what lives now out of the garbage collector's full passes, and
    lower the priority of every thread but the GUI's."""
    gc.freeze()
    lower_background_threads()


def lower_background_threads(nice: int = TRAINING_NICE) -> int:
    """Lower the priority of this process's threads except the main (GUI) thread and
    Qt's own (named ``Q…``, or Qt's pool's ``Thread (pooled)``); returns how many.

    Threads that a lowered thread starts later (Numba's or BLAS's workers) inherit
    its priority. A no-op where threads cannot be reniced one by one (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return 0
    main = threading.main_thread().native_id
    count = 0
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 0
    for name in tids:
        tid = int(name)
        if tid == main or _is_qt_thread(tid):
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                count += 1
        except OSError:          # the thread ended meanwhile, or we may not: no matter
            continue
    return count


def _is_qt_thread(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read().strip()
    except OSError:
        return False
    return comm.startswith("Q") or comm.startswith("Thread (pooled)")


__all__ = ["run_starting", "run_ended", "settle", "lower_background_threads",
           "collect_on_gui_thread", "collect_due"]
