"""What every live panel shares: a dirty flag and redraws driven by one frame clock.

Events only mark panels dirty (cheap, on every drained batch); the session's frame clock
(at most 20 frames/s) redraws the dirty panels that are visible, from the run's buffers.
A hidden panel (a closed dock, a background tab) costs nothing until it is shown.
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import style


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
        self.frames = 0                 # redraws done (tests and the latency benchmark)
        self.setObjectName(type(self).__name__)
        self._note = QLabel(self)
        self._note.setWordWrap(True)
        self._note.hide()
        session.updated.connect(self._on_updated)
        session.run_started.connect(self._on_run_started)
        session.frame.connect(self.refresh)

    def layout_with_note(self) -> QVBoxLayout:
        """A vertical layout that starts with the panel's note line (hidden when empty)."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self._note)
        return lay

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
        self.reset(run)
        self.dirty = True

    def reset(self, run) -> None:
        """A new run began: forget what belongs to the old one (curves keep their items)."""

    def refresh(self, force: bool = False) -> None:
        """Redraw if something changed and the panel can be seen (the frame clock calls)."""
        if not (self.dirty or force):
            return
        if not force and not self.on_screen():
            return
        self.dirty = False
        self.frames += 1
        self.redraw()

    def on_screen(self) -> bool:
        """Visible and not hidden behind another tab (tabified docks stay "visible")."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def redraw(self) -> None:
        raise NotImplementedError

    def showEvent(self, event) -> None:
        self.dirty = True
        super().showEvent(event)
