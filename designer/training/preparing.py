"""The kernels' preparation at the application's first start: in the background, with its
progress in every window's status bar (issue 6: a first run must never look frozen).

`compute.prepare` compiles every kernel of the examples and the benchmark's workloads on
worker processes at a low priority, so that the window stays responsive and the first
Train starts at once. It runs once per install (its stamp says when it is done); a run
started meanwhile compiles what it needs itself, as it always could.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QProgressBar, QWidget

NICE = 10                   # the workers' priority below the window's (POSIX)


class Preparer(QObject):
    """Runs one `compute.prepare.Preparation` on a thread; its signals arrive queued on
    the GUI thread. `make(progress=...)` builds the preparation (tests pass a fake)."""

    progressed = Signal(int, int, str)      # specimens done, of total; the last one
    ended = Signal(str, bool)               # a sentence for the status bar; all prepared

    def __init__(self, make=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._work = None
        self._thread: threading.Thread | None = None
        self.done = self.total = 0
        self.progressed.connect(self._count)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start preparing unless it runs already or everything is prepared; returns
        whether it started."""
        from compute import prepare

        if self.running or prepare.prepared():
            return False
        make = self._make or (lambda progress: prepare.Preparation(nice=NICE,
                                                                   progress=progress))
        self._work = make(progress=self._progress)
        self.done, self.total = 0, len(self._work.names)
        self._thread = threading.Thread(target=self._run, name="netwright-prepare",
                                        daemon=True)
        self._thread.start()
        self.progressed.emit(0, self.total, "")
        return True

    def cancel(self) -> None:
        """End the workers (at quit); what they compiled stays in the cache."""
        if self._work is not None:
            self._work.cancel()

    def _count(self, done: int, total: int, _last: str) -> None:
        self.done = max(self.done, done)

    def _progress(self, outcome, done: int, total: int) -> None:      # a worker's thread
        self.progressed.emit(done, total, outcome.specimen.partition(":")[2])

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            outcomes = self._work.run()
        except Exception as exc:            # a bug: say it where the user looks
            self.ended.emit(f"Could not prepare the kernels ({type(exc).__name__}: {exc}); "
                            "each run compiles what it needs as it starts.", False)
            return
        if self._work.cancelled.is_set():
            return
        failed = [o for o in outcomes if o.error]
        seconds = time.perf_counter() - t0
        if failed or len(outcomes) < self.total:
            first = failed[0] if failed else None
            why = f": {first.specimen}: {first.error}" if first else ""
            self.ended.emit(f"Prepared {len(outcomes) - len(failed)} of {self.total} kernel "
                            f"sets{why}. Runs compile what they still need as they start.",
                            False)
        else:
            self.ended.emit(f"Kernels compiled in {seconds:.0f} s and cached: training "
                            "starts at once from now on.", True)


_preparer: Preparer | None = None


def preparer() -> Preparer:
    """The application's one preparer (made on first use, on the GUI thread)."""
    global _preparer
    if _preparer is None:
        _preparer = Preparer(parent=QApplication.instance())
    return _preparer


def start_in_background() -> bool:
    """At the application's start: prepare the kernels unless they are; cancelled when
    the application quits."""
    p = preparer()
    started = p.start()
    app = QApplication.instance()
    if started and app is not None:
        app.aboutToQuit.connect(p.cancel)
    return started


class PreparingIndicator(QWidget):
    """In a window's status bar while the kernels are being prepared: a label and a
    progress bar; on the end, the preparer's sentence as a status message."""

    def __init__(self, window, source: Preparer | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.source = source or preparer()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        self.label = QLabel("Preparing kernels")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(140)
        self.bar.setMaximumHeight(16)
        self.bar.setFormat("%v of %m")
        self.bar.setAlignment(Qt.AlignCenter)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.setToolTip("Netwright compiles its kernels once, in the background, so that "
                        "training starts at once. You can draw and train meanwhile: a run "
                        "compiles what it needs itself.")
        self.source.progressed.connect(self._progressed)
        self.source.ended.connect(self._ended)
        self.setVisible(self.source.running)
        if self.source.running:
            self._progressed(self.source.done, self.source.total, "")

    def _progressed(self, done: int, total: int, last: str) -> None:
        if done:
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(done)
        else:               # the first (heaviest) specimens take 6-10 s: moving, not "0"
            self.bar.setRange(0, 0)
        if last:
            self.bar.setToolTip(f"{done} of {total} done; the last: {last}")
        self.show()

    def _ended(self, text: str, ok: bool) -> None:
        self.hide()
        self.window.statusBar().showMessage(text, 15000 if ok else 0)
