"""The window's actions, menus and toolbar, with the platform's standard shortcuts.

`install(window)` creates every action (returned by name, so tests and the training
panels can find them), the menus File, Edit, View, Insert, Train (left empty for the
training panels) and Help, and the main toolbar.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle

from compute.errors import NetwrightError

from . import clipboard, edits, fragments
from .edges import EdgeItem
from .items import NodeItem
from .templates import TEMPLATES


def install(w) -> dict[str, QAction]:
    acts: dict[str, QAction] = {}
    style = w.style()

    def act(name: str, text: str, slot=None, shortcut=None, icon=None, checkable=False,
            tip: str = "") -> QAction:
        a = QAction(text, w)
        a.setObjectName(f"action_{name}")
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(style.standardIcon(icon))
        a.setCheckable(checkable)
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        acts[name] = a
        return a

    doc, scene, canvas = w.document, w.scene, w.canvas
    # File
    act("new", "&New", w.new_project, QKeySequence.New, QStyle.SP_FileIcon,
        tip="Start a new project")
    act("open", "&Open…", w.open_dialog, QKeySequence.Open, QStyle.SP_DialogOpenButton,
        tip="Open a project file")
    act("save", "&Save", w.save, QKeySequence.Save, QStyle.SP_DialogSaveButton,
        tip="Save the project")
    act("save_as", "Save &As…", w.save_as, QKeySequence.SaveAs)
    act("close", "&Close", w.close, QKeySequence.Close)
    act("quit", "&Quit", _quit, QKeySequence.Quit)
    # Edit
    undo = doc.undo_stack.createUndoAction(w, "&Undo")
    undo.setShortcut(QKeySequence.Undo)
    undo.setIcon(style.standardIcon(QStyle.SP_ArrowBack))
    redo = doc.undo_stack.createRedoAction(w, "&Redo")
    redo.setShortcuts([QKeySequence(QKeySequence.Redo), QKeySequence("Ctrl+Y")])
    redo.setIcon(style.standardIcon(QStyle.SP_ArrowForward))
    acts["undo"], acts["redo"] = undo, redo
    act("cut", "Cu&t", partial(cut, w), QKeySequence.Cut)
    act("copy", "&Copy", partial(copy, w), QKeySequence.Copy)
    act("paste", "&Paste", partial(paste, w), QKeySequence.Paste)
    act("duplicate", "&Duplicate", partial(duplicate, w), "Ctrl+D")
    act("delete", "De&lete", partial(delete, w), [QKeySequence.Delete, "Backspace"])
    act("select_all", "Select &All", partial(select_all, w), QKeySequence.SelectAll)
    act("rename", "Re&name Node", partial(rename, w), "F2")
    # View
    act("zoom_in", "Zoom &In", canvas.zoom_in, [QKeySequence.ZoomIn, "Ctrl+="])
    act("zoom_out", "Zoom &Out", canvas.zoom_out, QKeySequence.ZoomOut)
    act("fit", "&Fit to View", canvas.fit, "F", tip="Show the whole network (F)")
    act("auto_layout", "Auto-&layout", partial(auto_layout, w), "Ctrl+L",
        tip="Arrange the network in columns, left to right")
    act("show_shapes", "Shapes on &Edges", scene.set_show_shapes, checkable=True)
    act("snap", "&Snap to Grid", scene.set_snap, checkable=True)
    act("grid", "Show &Grid", w._set_grid, checkable=True)
    group = QActionGroup(w)
    for name in ("light", "dark"):
        a = act(f"theme_{name}", name.capitalize(), checkable=True)
        a.triggered.connect(partial(w.set_theme, name))
        group.addAction(a)
    acts["theme_light" if not _dark() else "theme_dark"].setChecked(True)
    act("find_layer", "Find &Layer…", partial(_find_layer, w), "Ctrl+K",
        tip="Search the palette for a layer type")
    act("about", "&About Netwright", partial(_about, w))
    # keys that mean something else in a text field or list act only on the canvas
    for name in ("delete", "fit", "select_all"):
        acts[name].setShortcutContext(Qt.WidgetWithChildrenShortcut)
        canvas.addAction(acts[name])
    _menus(w, acts)
    _toolbar(w, acts)
    return acts


def _menus(w, a: dict[str, QAction]) -> None:
    bar = w.menuBar()
    file = w.menus["File"] = bar.addMenu("&File")
    file.addActions([a["new"], a["open"]])
    w.recent_menu = file.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(partial(_fill_recent, w))
    file.addSeparator()
    file.addActions([a["save"], a["save_as"]])
    file.addSeparator()
    file.addActions([a["close"], a["quit"]])
    edit = w.menus["Edit"] = bar.addMenu("&Edit")
    edit.addActions([a["undo"], a["redo"]])
    edit.addSeparator()
    edit.addActions([a[k] for k in ("cut", "copy", "paste", "duplicate", "delete")])
    edit.addSeparator()
    edit.addActions([a["select_all"], a["rename"]])
    view = w.menus["View"] = bar.addMenu("&View")
    view.addActions([a["zoom_in"], a["zoom_out"], a["fit"]])
    view.addSeparator()
    view.addActions([a["show_shapes"], a["grid"], a["snap"]])
    themes = view.addMenu("&Theme")
    themes.addActions([a["theme_light"], a["theme_dark"]])
    view.addSeparator()
    w.panels_menu = view.addMenu("&Panels")
    for dock in (w.palette_dock, w.inspector_dock):
        w.panels_menu.addAction(dock.toggleViewAction())
    insert = w.menus["Insert"] = bar.addMenu("&Insert")
    insert.addAction(a["find_layer"])
    insert.addSeparator()
    templates = w.menus["Insert template"] = insert.addMenu("Insert &Template")
    for key, t in TEMPLATES.items():
        action = templates.addAction(t.title)
        action.setObjectName(f"template_{key}")
        missing = t.missing_types()
        action.setEnabled(not missing)
        action.setToolTip(t.doc if not missing else f"needs layer types {', '.join(missing)}")
        action.setStatusTip(action.toolTip())
        action.triggered.connect(partial(insert_template, w, key))
    templates.setToolTipsVisible(True)
    arrange = w.menus["Arrange"] = bar.addMenu("&Arrange")
    arrange.addAction(a["auto_layout"])
    w.menus["Train"] = bar.addMenu("&Train")
    help_ = w.menus["Help"] = bar.addMenu("&Help")
    help_.addAction(a["about"])


def _toolbar(w, a: dict[str, QAction]) -> None:
    tb = w.toolbar
    tb.addActions([a["new"], a["open"], a["save"]])
    tb.addSeparator()
    tb.addActions([a["undo"], a["redo"]])
    for name in ("undo", "redo"):   # their text names the command: too long for a button
        tb.widgetForAction(a[name]).setToolButtonStyle(Qt.ToolButtonIconOnly)
    tb.addSeparator()
    tb.addActions([a["zoom_in"], a["zoom_out"], a["fit"], a["auto_layout"]])
    tb.addSeparator()


# -- edit verbs on the current selection -------------------------------------------------
def _selected(w) -> list[str]:
    return w.scene.selected_node_ids()


def copy(w) -> bool:
    ids = _selected(w)
    if not ids:
        w.statusBar().showMessage("Select nodes to copy", 4000)
        return False
    clipboard.copy_fragment(fragments.extract(w.document.graph, ids))
    w.statusBar().showMessage(f"Copied {len(ids)} node(s)", 4000)
    return True


def cut(w) -> None:
    if copy(w):
        edits.delete(w.document, _selected(w))


def paste(w) -> list[str]:
    try:
        fragment = clipboard.clipboard_fragment()
    except NetwrightError as exc:
        w.statusBar().showMessage(f"Cannot paste: {exc}", 10000)
        return []
    if fragment is None:
        w.statusBar().showMessage("The clipboard holds no network", 4000)
        return []
    at = None
    if w.canvas.underMouse():
        cursor = w.canvas.mapFromGlobal(w.cursor().pos())
        p = w.scene.snap_point(w.canvas.mapToScene(cursor))
        at = (p.x(), p.y())
    ids = edits.paste(w.document, fragment, at)
    w.statusBar().showMessage(f"Pasted {len(ids)} node(s)", 4000)
    return ids


def duplicate(w) -> list[str]:
    ids = _selected(w)
    if not ids:
        return []
    return edits.paste(w.document, fragments.extract(w.document.graph, ids), None, "Duplicate")


def delete(w) -> None:
    edits.delete(w.document, _selected(w), w.scene.selected_edges())


def select_all(w) -> None:
    for item in w.scene.items():
        if isinstance(item, (NodeItem, EdgeItem)):
            item.setSelected(True)


def rename(w) -> None:
    if len(_selected(w)) == 1:
        w.inspector_dock.show()
        w.inspector.node_page.id_edit.setFocus()
        w.inspector.node_page.id_edit.selectAll()


def auto_layout(w) -> None:
    edits.auto_layout(w.document, w.scene.node_sizes(), layout_width(w))
    w.canvas.fit()


def layout_width(w) -> float:
    """How wide a laid-out network may be before it wraps: about the canvas at 100%."""
    return max(700.0, w.canvas.viewport().width() / 1.15)


def insert_template(w, key: str) -> list[str]:
    """Insert after the single selected node (fed by it), else in the middle of the view."""
    sel = _selected(w)
    after = sel[0] if len(sel) == 1 else None
    if after is not None:
        item = w.scene.nodes[after]
        at = (item.pos().x() + item.width + 110, item.pos().y())
    else:
        c = w.scene.free_spot(w.canvas.centre_scene_pos())
        at = (c.x() - 200, c.y())
    ids = edits.insert_template(w.document, key, at, after)
    w.statusBar().showMessage(f"Inserted {TEMPLATES[key].title} ({len(ids)} nodes)", 5000)
    if ids:
        rect = w.scene.nodes[ids[0]].sceneBoundingRect()
        for node_id in ids[1:]:
            rect = rect.united(w.scene.nodes[node_id].sceneBoundingRect())
        w.canvas.ensureVisible(rect, 40, 40)
    return ids


# -- small helpers -----------------------------------------------------------------------
def _fill_recent(w) -> None:
    from ..main_window import recent_files, remove_recent

    menu = w.recent_menu
    menu.clear()
    files = recent_files()
    for path in files:
        a = menu.addAction(Path(path).name)
        a.setToolTip(path)
        a.setStatusTip(path)
        a.triggered.connect(partial(_open_recent, w, path, remove_recent))
    if not files:
        menu.addAction("No recent projects").setEnabled(False)


def _open_recent(w, path: str, remove_recent) -> None:
    if not Path(path).exists():
        remove_recent(path)
    w.open_path(path)


def _find_layer(w) -> None:
    w.palette_dock.show()
    w.palette_dock.raise_()
    w.palette.search.setFocus()
    w.palette.search.selectAll()


def _dark() -> bool:
    from .. import theme

    return theme.current().dark


def _quit() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.closeAllWindows()


def _about(w) -> None:
    QMessageBox.about(w, "About Netwright",
                      "<b>Netwright</b><br>Design, train and understand neural networks by "
                      "drawing them.")
