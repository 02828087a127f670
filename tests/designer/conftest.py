"""Designer tests run offscreen, with settings and recovery files in a temporary folder
and every modal dialog replaced by a recorder that answers as the test says."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMessageBox  # noqa: E402

from designer import theme  # noqa: E402
import designer  # noqa: E402,F401  (applies the PySide6 refcount fix)


class Dialogs:
    """What the patched dialogs were asked, and what they answer."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []
        self.answer = QMessageBox.Discard       # for "save changes?" questions
        self.open_path = ""
        self.save_path = ""
        self.button = "Later"                   # text of the button a custom box clicks

    def titles(self) -> list[str]:
        return [t for _, t, _ in self.shown]


@pytest.fixture(autouse=True)
def dialogs(tmp_path, monkeypatch, qapp):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(tmp_path / "settings"))
    QSettings("Netwright", "Netwright").clear()
    monkeypatch.setenv("NETWRIGHT_STATE_DIR", str(tmp_path / "state"))
    theme.apply(theme.LIGHT)
    d = Dialogs()

    def static(kind, answer):
        def show(parent, title, text, *args, **kwargs):
            d.shown.append((kind, title, text))
            return answer() if callable(answer) else answer
        return staticmethod(show)

    monkeypatch.setattr(QMessageBox, "question", static("question", lambda: d.answer))
    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, static(kind, QMessageBox.Ok))
    monkeypatch.setattr(QMessageBox, "about", static("about", None))

    def exec_box(box):
        d.shown.append(("box", box.windowTitle(), box.text()))
        for button in box.buttons():
            if button.text() == d.button:
                button.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_box)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (d.open_path, "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (d.save_path, "")))
    yield d
    QApplication.clipboard().clear()


@pytest.fixture
def window(qtbot, monkeypatch):
    """The editor's window without the training panels (tested on their own; one test in
    test_window starts the whole application with them)."""
    import designer.training
    from designer.main_window import MainWindow

    monkeypatch.setattr(designer.training, "install", lambda window: None)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    for dock in w.findChildren(QDockWidget):     # give the canvas room: hide the panels
        if dock not in (w.palette_dock, w.inspector_dock):
            dock.hide()
    w.show()
    qtbot.waitExposed(w)
    return w


# -- simulated gestures -----------------------------------------------------------------------
def view_point(view, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def drag(qtbot, view, a: QPointF, b: QPointF, steps: int = 5,
         modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at scene point `a`, move in steps, release at `b` (left button), after
    scrolling (and zooming out if need be) so that both are on screen."""
    vp = view.viewport()
    view.centerOn((a + b) / 2)
    inner = vp.rect().adjusted(10, 10, -10, -10)
    while not (inner.contains(view_point(view, a)) and inner.contains(view_point(view, b))):
        view.scale(0.8, 0.8)
        view.centerOn((a + b) / 2)
    pa, pb = view_point(view, a), view_point(view, b)
    qtbot.mousePress(vp, Qt.LeftButton, modifier, pa)
    for i in range(1, steps + 1):
        p = pa + (pb - pa) * (i / steps)
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.LeftButton, modifier, pb)


def drop_layer(window, type_name: str, scene_pos: QPointF) -> None:
    """Drop a palette entry on the canvas, carrying the palette's own drag data."""
    item = window.palette.items[type_name]
    mime = window.palette.tree.mimeData([item])
    vp = window.canvas.viewport()
    pos = view_point(window.canvas, scene_pos)
    for cls in (QDragEnterEvent, QDragMoveEvent):
        ev = cls(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(vp, ev)
        assert ev.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(vp, drop)


@pytest.fixture
def plot(qtbot):
    """A shown pyqtgraph plot of 400 x 300 pixels."""
    import pyqtgraph as pg

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.show()
    yield w.getPlotItem()           # the widget stays referenced while the test runs
