"""What every live panel shares: a dirty flag and redraws driven by one frame clock.

Events only mark panels dirty (cheap, on every drained batch); the session's frame clock
redraws the dirty panels that are visible, one per tick and each at most 20 times a
second, from the run's buffers.
A hidden panel (a closed dock, a background tab) costs nothing until it is shown.
"""
from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import style

FPS = 20                    # redraws per second per panel, at most


class Panel(QWidget):
    """Base of the live panels. Subclasses set `title`, `kinds` and implement `redraw`."""

    title = "Panel"
    # the event kinds (see RunHistory.handle) that make this panel stale
    kinds: frozenset[str] = frozenset({"started", "step", "epoch", "snapshot", "finished"})

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self.session = session
        self.dirty = True
        self._reset_pending = False     # a run began (or runs were cleared) since a redraw
        self.frames = 0                 # redraws done (tests and the latency benchmark)
        self._drawn_at = 0.0
        self.setObjectName(type(self).__name__)
        self._note = QLabel(self)
        self._note.setWordWrap(True)
        self._note.hide()
        session.updated.connect(self._on_updated)
        session.run_started.connect(self._on_run_started)
        session.add_view(self)

    def layout_with_note(self) -> QVBoxLayout:
        """A vertical layout that starts with the panel's note line (hidden when empty)."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self._note)
        return lay

    @staticmethod
    def add_graphics(lay: QVBoxLayout) -> pg.GraphicsLayoutWidget:
        """A pyqtgraph canvas taking the layout's free height (shared with others added)."""
        view = pg.GraphicsLayoutWidget()
        lay.addWidget(view, 1)
        return view

    def set_note(self, text: str) -> None:
        """One line saying why the panel is empty or what to look at."""
        self._note.setText(text)
        self._note.setVisible(bool(text))

    @property
    def run(self):
        return self.session.current

    def _on_updated(self, kinds: set) -> None:
        if kinds & self.kinds:
            self.dirty = True

    def _on_run_started(self, run) -> None:
        # reset at the panel's next redraw: all panels cleared at once made one 50-70 ms
        # frame as a run started; the frame clock redraws them one per tick
        self._reset_pending = True
        self.dirty = True

    def reset(self, run) -> None:
        """A new run began: forget what belongs to the old one (curves keep their items)."""

    def refresh(self, force: bool = False, paced: bool = True) -> bool:
        """Redraw if something changed and the panel can be seen; `paced`: not within
        1/FPS s of the last redraw. Returns whether it redrew (the frame clock calls)."""
        if not (self.dirty or force):
            return False
        if not force and not self.on_screen():
            return False
        now = time.monotonic()
        if paced and not force and now - self._drawn_at < 1.0 / FPS:
            return False
        self.dirty = False
        self.frames += 1
        self._drawn_at = now
        if self._reset_pending:
            self._reset_pending = False
            self.reset(self.run)
        self.redraw()
        return True

    def on_screen(self) -> bool:
        """Visible and not hidden behind another tab (tabified docks stay "visible")."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def redraw(self) -> None:
        raise NotImplementedError

    def showEvent(self, event) -> None:
        self.dirty = True
        super().showEvent(event)
