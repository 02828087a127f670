"""What every live panel shares: a dirty flag and redraws driven by one frame clock.

Events only mark panels dirty (cheap, on every drained batch); the session's frame clock
redraws the dirty panels that are visible, one per tick and each at most 20 times a
second, from the run's buffers.
A hidden panel (a closed dock, a background tab) costs nothing until it is shown.

A panel with many plots writes `redraw` as a generator that yields between its parts
(building or updating one plot): a frame then does at most FRAME_BUDGET_S of it and the
next tick goes on where it stopped. Built at once, the first snapshot's dozen plots of
the activations, weights or feature-map panels froze the window for 0.2-0.8 s.
"""
from __future__ import annotations

import inspect
import time
from typing import Iterator

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from . import style

FPS = 20                    # redraws per second per panel, at most (`Panel.fps`)
# a frame's share of a redraw written in parts (see above); 5 ms (about one plot per
# frame) was no better in alternated runs
FRAME_BUDGET_S = 0.012
# yielded by a redraw between parts: the next part is heavy (items made: 20-30 ms beside a
# training run), so it begins a frame of its own; the cheap parts before it said nothing
ALONE = object()
SMALL_ROW_PX = 110          # least height of a row of small plots (title, view, axis)
WIDE_ROW_PX = 170           # and of a wide plot below them
UNBOUNDED_PX = 16_777_215   # Qt's largest widget size: no maximum


class Panel(QWidget):
    """Base of the live panels. Subclasses set `title`, `kinds` and implement `redraw`."""

    title = "Panel"
    # redraws a second, at most: panels of many plots whose data changes only at snapshots
    # (up to 8 a second) take less, or they would redraw at every frame while training
    fps: float = FPS
    # parts of a redraw per frame, at most: where a part is quick to set but slow to
    # paint (a histogram: 1-2 ms of data, 3-4 ms of drawing), the repaint is what the
    # frame must keep short
    parts_per_frame: int | None = None
    # the event kinds (see RunHistory.handle) that make this panel stale
    kinds: frozenset[str] = frozenset({"started", "step", "epoch", "snapshot", "finished"})

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self.session = session
        self.dirty = True
        self._reset_pending = False     # a run began (or runs were cleared) since a redraw
        self._unfinished: Iterator | None = None    # the rest of a redraw done in parts
        self.frames = 0                 # redraws done (tests and the latency benchmark)
        self._drawn_at = 0.0
        self._grid: tuple | None = None     # (view, columns, fixed rows): `fix_grid`
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
    def add_graphics(lay: QVBoxLayout, scroll: bool = False) -> pg.GraphicsLayoutWidget:
        """A pyqtgraph canvas taking the layout's free height (shared with others added).
        With `scroll`, inside a scroll area: a grid of small plots sets the canvas's
        minimum height (`fix_grid`), and a short panel scrolls instead of squeezing them
        to slivers."""
        view = pg.GraphicsLayoutWidget()
        if not scroll:
            lay.addWidget(view, 1)
            return view
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        area.setWidget(view)
        lay.addWidget(area, 1)
        return view

    def fix_grid(self, view: pg.GraphicsLayoutWidget, small_rows: int, wide_rows: int,
                 columns: int) -> None:
        """Give a grid of small plots (over `wide_rows` wide ones) rows and columns of a
        fixed size, before its plots are added. Left to itself, the grid sized each row
        and column by its plots' contents, so every plot added (or title changed) laid
        out and repainted all the others: building a dozen took frames of 60-120 ms; at
        a fixed size, only the new plot is drawn. The view keeps a least height at which
        they stay readable (the panel scrolls below it)."""
        view.setMinimumHeight(small_rows * SMALL_ROW_PX + wide_rows * WIDE_ROW_PX)
        lay = view.ci.layout
        before = self._grid[2] if self._grid is not None else 0
        for r in range(small_rows, before):          # an earlier run's rows: free again
            lay.setRowMinimumHeight(r, 0)
            lay.setRowMaximumHeight(r, UNBOUNDED_PX)
        for r in range(small_rows):
            lay.setRowFixedHeight(r, SMALL_ROW_PX)
        self._grid = (view, columns, small_rows)
        view.installEventFilter(self)
        self._fit_columns()

    def _fit_columns(self, width: int | None = None) -> None:
        view, columns, _ = self._grid
        lay = view.ci.layout
        left, _, right, _ = lay.getContentsMargins()
        width = (view.width() if width is None else width) - 2 * view.frameWidth()
        free = width - left - right - lay.horizontalSpacing() * (columns - 1)
        for c in range(columns):
            lay.setColumnFixedWidth(c, max(free / columns, 40.0))

    def eventFilter(self, obj, event) -> bool:
        """The grid's columns follow the view's width (see `fix_grid`)."""
        if self._grid is not None and obj is self._grid[0] and \
                event.type() == QEvent.Resize:
            self._fit_columns(event.size().width())     # (before the view's own resize)
        return False

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
        self._unfinished = None
        self.dirty = True

    def reset(self, run) -> None:
        """A new run began: forget what belongs to the old one (curves keep their items)."""

    def refresh(self, force: bool = False, paced: bool = True) -> bool:
        """Redraw if something changed and the panel can be seen; `paced`: not within
        1/fps s of the last redraw. A redraw in parts stops after FRAME_BUDGET_S and goes
        on at the next call, except with `force` (start over and finish now). Returns
        whether it drew (the frame clock calls). A part as long as the longest so far
        that would end past the budget waits for the next frame (a frame is then at most
        about one budget or one part, not both), as do parts beyond `parts_per_frame`
        and a part announced heavy (`ALONE`)."""
        if force:
            self._unfinished = None
        elif not (self.dirty or self._unfinished) or not self.on_screen():
            return False
        now = time.monotonic()
        if (paced and not force and self._unfinished is None
                and now - self._drawn_at < 1.0 / self.fps):
            return False
        self._drawn_at = now
        if self._unfinished is None:
            self.dirty = False
            self.frames += 1
            self._unfinished = self._parts()
        deadline = float("inf") if force else time.perf_counter() + FRAME_BUDGET_S
        last, longest = time.perf_counter(), 0.0
        most = float("inf") if force or not self.parts_per_frame else self.parts_per_frame
        for done, hint in enumerate(self._unfinished, 1):    # stop before a part that
            now = time.perf_counter()                # would not fit, one too many, or a
            longest, last = max(longest, now - last), now       # heavy one
            if now + longest > deadline or done >= most or (hint is ALONE and not force):
                return True
        self._unfinished = None
        return True

    def _parts(self) -> Iterator[None]:
        if self._reset_pending:         # a part of its own: with the first data in the
            self._reset_pending = False     # same frame, a run's first frame was the
            self.reset(self.run)            # panel's longest
            yield
        parts = self.redraw()
        if inspect.isgenerator(parts):
            yield from parts

    def on_screen(self) -> bool:
        """Visible and not hidden behind another tab (tabified docks stay "visible")."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def redraw(self) -> Iterator[None] | None:
        """Draw the run's latest data; a generator yields between parts (see above)."""
        raise NotImplementedError

    def showEvent(self, event) -> None:
        self.dirty = True
        super().showEvent(event)
