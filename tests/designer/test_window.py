"""The main window: asking before losing work, menus and shortcuts, remembered layout,
themes, docks, copy/paste between windows, example projects, start-up."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMessageBox  # noqa: E402

from compute import Graph, save_project  # noqa: E402
from compute.project import Project  # noqa: E402
from designer import theme  # noqa: E402
from designer.editor import edits  # noqa: E402
from designer.main_window import MainWindow, recent_files  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def lenet_project(path: Path) -> Path:
    g = Graph()
    g.add_node("image", "Input", shape=[1, 8, 8])
    g.add_node("conv1", "Conv2D", filters=6, kernel_size=3, padding="same", activation="relu")
    g.add_node("pool1", "MaxPool2D", pool_size=2)
    g.add_node("conv2", "Conv2D", filters=16, kernel_size=3, padding="same", activation="relu")
    g.add_node("pool2", "MaxPool2D", pool_size=2)
    g.add_node("flat", "Flatten")
    g.add_node("fc1", "Dense", units=32, activation="relu")
    g.add_node("fc2", "Dense", units=10)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain(*g.nodes)
    save_project(Project("LeNet digits", g, {"dataset": "digits"}, {"epochs": 5}), path)
    return path


def test_closing_with_unsaved_changes_asks(qtbot, window, dialogs, tmp_path):
    edits.add_node(window.document, "Input", (0, 0), {"shape": [2]})
    dialogs.answer = QMessageBox.Cancel
    assert not window.close()
    assert window.isVisible() and dialogs.shown[-1][0] == "question"
    dialogs.answer = QMessageBox.Save
    dialogs.save_path = str(tmp_path / "kept.netw")
    assert window.close()
    assert (tmp_path / "kept.netw").exists()


def test_opening_with_unsaved_changes_asks_and_cancel_keeps_the_work(qtbot, window, dialogs,
                                                                     tmp_path):
    other = lenet_project(tmp_path / "lenet.netw")
    edits.add_node(window.document, "Input", (0, 0), {"shape": [2]})
    dialogs.answer = QMessageBox.Cancel
    assert not window.open_path(other)
    assert window.document.graph.nodes == ["input"]
    dialogs.answer = QMessageBox.Discard
    assert window.open_path(other)
    assert window.document.name == "LeNet digits"
    assert window.document.undo_stack.count() == 0
    assert recent_files() == [str(other.resolve())]
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == ["lenet.netw"]


def test_menus_and_standard_shortcuts(window):
    assert {"File", "Edit", "View", "Insert", "Train", "Help"} <= set(window.menus)
    a = window.acts
    for name, key in (("new", QKeySequence.New), ("open", QKeySequence.Open),
                      ("save", QKeySequence.Save), ("save_as", QKeySequence.SaveAs),
                      ("close", QKeySequence.Close), ("undo", QKeySequence.Undo),
                      ("cut", QKeySequence.Cut), ("copy", QKeySequence.Copy),
                      ("paste", QKeySequence.Paste), ("select_all", QKeySequence.SelectAll),
                      ("zoom_out", QKeySequence.ZoomOut)):
        assert a[name].shortcut() == QKeySequence(key), name
    assert a["fit"].shortcut() == QKeySequence("F")
    assert a["duplicate"].shortcut() == QKeySequence("Ctrl+D")
    assert a["redo"].shortcuts()[0] == QKeySequence(QKeySequence.Redo)
    titles = [act.text() for act in window.menus["Insert template"].actions()]
    assert "LeNet-5" in titles and "Variational autoencoder" in titles
    assert all(act.isEnabled() for act in window.menus["Insert template"].actions())


def test_keyboard_shortcuts_reach_the_canvas(qtbot, window):
    doc = window.document
    edits.add_node(doc, "Input", (0, 0), {"shape": [2]})
    edits.add_node(doc, "Dense", (250, 0))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_A, Qt.ControlModifier)
    assert sorted(doc.selection) == ["dense1", "input"]
    qtbot.keyClick(window.canvas, Qt.Key_Delete)
    assert len(doc.graph) == 0
    qtbot.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert len(doc.graph) == 2


def test_window_layout_and_view_options_are_remembered(qtbot, window, dialogs):
    window.inspector_dock.hide()
    window.acts["show_shapes"].setChecked(False)
    window.acts["theme_dark"].trigger()
    assert theme.current().dark
    window.close()
    theme.apply(theme.LIGHT)
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert not again.inspector_dock.isVisible()
    assert not again.acts["show_shapes"].isChecked() and not again.scene.show_shapes
    assert theme.current().dark and again.acts["theme_dark"].isChecked()
    assert QApplication.palette().window().color().name() == theme.DARK.window


def test_add_dock_puts_a_toggle_in_the_view_menu(qtbot, window):
    dock = QDockWidget("Loss curve")
    dock.setWidget(QLabel("plot"))
    window.add_dock(dock, Qt.BottomDockWidgetArea)
    assert dock.objectName() == "dock_Losscurve"
    toggles = [a.text() for a in window.panels_menu.actions()]
    assert {"Layers", "Inspector", "Loss curve"} <= set(toggles)
    other = QDockWidget("Other")
    window.add_dock(other, Qt.BottomDockWidgetArea, tabify_with=dock)
    QApplication.processEvents()
    assert other in window.tabifiedDockWidgets(dock)


def test_no_orphaned_tab_bar_is_left_over_the_docks(qtbot, dialogs, tmp_path):
    """Qt (6.12) may leave a second, orphaned tab bar when docks are tabified while another
    tab group exists; the window hides it, and never hides a group's real bar."""
    from PySide6.QtWidgets import QTabBar

    w = MainWindow(lenet_project(tmp_path / "lenet.netw"))     # with the training panels
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(20)
    own = [b for b in w.findChildren(QTabBar) if b.parent() is w]
    for bar in own:                  # whether Qt shows the orphan varies: show them all
        bar.show()
    w._hide_stale_tab_bars()
    shown = [tuple(b.tabText(i) for i in range(b.count())) for b in own if b.isVisible()]
    groups = {}
    for dock in w.findChildren(QDockWidget):
        if dock.isVisible() and w.tabifiedDockWidgets(dock):
            groups[dock.windowTitle()] = dock
    assert len(shown) == len({tabs[0] for tabs in shown})     # one bar per tab group
    assert all(any(t in groups for t in tabs) for tabs in shown)
    assert len(shown) >= 2           # the Inspector/Training and the panels' groups


def test_copy_in_one_window_paste_in_another(qtbot, window):
    edits.add_node(window.document, "Input", (0, 0), {"shape": [2]})
    edits.add_node(window.document, "Dense", (250, 0))
    edits.connect(window.document, "input", "dense1", 0)
    window.acts["select_all"].trigger()
    window.acts["copy"].trigger()
    second = MainWindow()
    qtbot.addWidget(second)
    edits.add_node(second.document, "Input", (0, 0), {"shape": [3]})
    second.acts["paste"].trigger()
    g = second.document.graph
    assert g.nodes == ["input", "input_2", "dense1"]
    assert g.inputs_of("dense1") == {0: "input_2"}
    second.acts["duplicate"].trigger()                 # the pasted nodes are selected
    assert g.nodes[-2:] == ["input_3", "dense1_2"]
    second.acts["cut"].trigger()
    assert g.nodes == ["input", "input_2", "dense1"]
    second.document.undo_stack.setClean()


def example_projects(tmp_path) -> list[Path]:
    return sorted((ROOT / "projects").glob("*.netw")) + [lenet_project(tmp_path / "lenet.netw")]


def test_every_example_project_opens_lays_out_and_has_no_error_badge(qtbot, window, dialogs,
                                                                     tmp_path):
    for path in example_projects(tmp_path):
        assert window.open_path(path), dialogs.shown
        scene = window.scene
        assert set(scene.nodes) == set(window.document.graph.nodes), path
        assert not any(item.badge.isVisible() for item in scene.nodes.values()), path
        assert len(scene.edges) == len(window.document.graph.edges)
        window.acts["auto_layout"].trigger()
        rects = [item.sceneBoundingRect() for item in scene.nodes.values()]
        view = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
        assert all(view.contains(r.center()) for r in rects), path
        window.document.undo_stack.setClean()


def test_new_project_starts_empty(qtbot, window, dialogs):
    edits.add_node(window.document, "Input", (0, 0), {"shape": [2]})
    dialogs.answer = QMessageBox.Discard
    window.acts["new"].trigger()
    assert len(window.document.graph) == 0 and not window.document.is_dirty()
    assert window.windowTitle() == "Untitled — not saved — Netwright"


def test_start_opens_the_project_given_on_the_command_line(qtbot, tmp_path):
    from designer import app

    path = lenet_project(tmp_path / "lenet.netw")
    windows = app.start(str(path))
    for w in windows:
        qtbot.addWidget(w)
    assert len(windows) == 1 and windows[0].document.name == "LeNet digits"
    w = windows[0]
    assert w.isVisible()
    qtbot.wait(50)
    assert w.canvas.viewport().height() > 0.4 * w.height()   # the panels leave it room
    app._windows.clear()


def test_main_runs_the_event_loop_and_returns_its_exit_code(qtbot, tmp_path):
    from PySide6.QtCore import QTimer

    from designer import app

    path = lenet_project(tmp_path / "lenet.netw")

    def finish():
        for w in app._windows:
            qtbot.addWidget(w)
        assert app._windows[-1].document.name == "LeNet digits"
        QApplication.exit(3)

    QTimer.singleShot(0, finish)
    assert app.main([str(path)]) == 3
    app._windows.clear()


def test_select_node_on_the_window_selects_and_shows_it(qtbot, window):
    edits.add_node(window.document, "Input", (3000, 2000), {"shape": [2]})
    window.document.select(None)
    window.select_node("input")
    assert window.document.selection == ["input"]
    item = window.scene.nodes["input"]
    visible = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    assert visible.intersects(item.sceneBoundingRect())


@pytest.mark.parametrize("name", ["light", "dark"])
def test_labels_contrast_with_their_family_colour(name):
    t = theme.by_name(name)
    for family, colour in t.families.items():
        bg = theme.QColor(colour)
        fg = t.text_on(bg)
        assert _contrast(bg, fg) >= 3.0, (name, family)


def _contrast(a, b) -> float:
    def lum(c):
        def ch(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.red()) + 0.7152 * ch(c.green()) + 0.0722 * ch(c.blue())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
