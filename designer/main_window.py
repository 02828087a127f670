"""The main window: canvas in the centre, palette and inspector docks, menus, status bar.

The window owns one `Document` for its whole life; New and Open load another project
into it, so every panel bound to the document stays bound. Menus and the toolbar are
built by `editor.actions`; the training panels add theirs through `menus`, `toolbar`
and `add_dock` when `designer.training.install` runs at the end of `__init__`.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QTabBar, QToolBar)

from compute.errors import NetwrightError
from compute.project import Project

from . import theme
from .document import Document
from .editor import actions
from .editor.inspector import Inspector
from .editor.palette import Palette
from .editor.scene import EditorScene
from .editor.view import EditorView

FILTER = "Netwright projects (*.netw);;All files (*)"
MAX_RECENT = 10


def settings() -> QSettings:
    """The application's settings (tests point QSettings at a temporary folder)."""
    return QSettings("Netwright", "Netwright")


class MainWindow(QMainWindow):
    theme_changed = Signal(str)

    def __init__(self, path: str | os.PathLike | None = None,
                 document: Document | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.document = document or Document(parent=self)
        self.scene = EditorScene(self.document, self)
        self.canvas = EditorView(self.scene, self)
        self.setCentralWidget(self.canvas)
        self.menus: dict[str, QMenu] = {}
        self.toolbar = QToolBar("Main", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.addToolBar(self.toolbar)
        self.palette = Palette(self)
        self.inspector = Inspector(self.document, self)
        self.palette_dock = self._dock("Layers", self.palette, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.summary = QLabel()
        self.statusBar().addPermanentWidget(self.summary)
        self.acts = actions.install(self)
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.palette.add_requested.connect(self.add_layer)
        self.document.clean_changed.connect(lambda _c: self.update_title())
        self.document.path_changed.connect(self.update_title)
        self.document.graph_changed.connect(self.update_summary)
        self.document.project_replaced.connect(self.scene.clear_overlays)
        self._restore_view_settings()
        if path is not None:
            self.open_path(path)
        self.update_title()
        self.update_summary()
        from . import training

        training.install(self)
        self._restore_window_state()

    # -- docks ----------------------------------------------------------------------------
    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setWidget(widget)
        return self.add_dock(dock, area)

    def add_dock(self, dock: QDockWidget, area=Qt.RightDockWidgetArea,
                 tabify_with: QDockWidget | None = None) -> QDockWidget:
        """Add a dock that can be moved, closed and restored from the View menu; its place
        is remembered with the window layout."""
        if not dock.objectName():
            dock.setObjectName("dock_" + "".join(c for c in dock.windowTitle() if c.isalnum()))
        if tabify_with is not None and self.dockWidgetArea(tabify_with) != Qt.NoDockWidgetArea:
            # straight into the tab group: adding it beside first and then moving it leaves
            # Qt with a stale tab bar drawn over the other docks
            self.tabifyDockWidget(tabify_with, dock)
        else:
            self.addDockWidget(area, dock)
        panels = getattr(self, "panels_menu", None)
        if panels is not None:
            panels.addAction(dock.toggleViewAction())
        if self.isVisible():
            QTimer.singleShot(0, self, self._hide_stale_tab_bars)
        return dock

    # -- title and status -----------------------------------------------------------------
    def update_title(self) -> None:
        doc = self.document
        dirty = "*" if doc.is_dirty() else ""
        where = doc.path.name if doc.path is not None else "not saved"
        self.setWindowTitle(f"{doc.name}{dirty} — {where} — Netwright")

    def update_summary(self) -> None:
        g, shapes = self.document.graph, self.document.shapes
        bad = len(shapes.errors)
        text = f"{len(g)} nodes · {len(g.edges)} edges"
        if bad:
            text += f" · <span style='color:{theme.current().error}'>{bad} with errors</span>"
        self.summary.setText(text)

    def select_node(self, node_id: str | None) -> None:
        """Select a node and bring it into view (the diagnosis panel's findings use it)."""
        self.scene.select_node(node_id)

    # -- adding ---------------------------------------------------------------------------
    def add_layer(self, type_name: str) -> str:
        """Add a layer in a free spot near the middle of the view (palette double-click)."""
        spot = self.scene.free_spot(self.canvas.centre_scene_pos())
        node_id = self.scene.add_node_at(type_name, spot)
        self.statusBar().showMessage(f"Added {type_name} {node_id}", 5000)
        return node_id

    # -- files ----------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.is_dirty():
            return True
        answer = QMessageBox.question(
            self, "Save changes?",
            f"“{self.document.name}” has unsaved changes. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_project(self) -> None:
        if self.maybe_save():
            self.document.replace_project(Project())
            self.canvas.fit()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, FILTER)
        if path:
            self.open_path(path, ask=False)

    def open_path(self, path: str | os.PathLike, ask: bool = True) -> bool:
        """Open a project; a broken file shows the loader's message and changes nothing."""
        if ask and not self.maybe_save():
            return False
        try:
            laid_out = self.document.load(path)
        except NetwrightError as exc:
            QMessageBox.critical(self, "Cannot open project", str(exc))
            return False
        if laid_out:
            self.document.add_missing_positions(self.scene.node_sizes(), force=True,
                                                max_width=actions.layout_width(self))
        add_recent(Path(path))
        self.canvas.fit()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        doc = self.document
        start = str(doc.path) if doc.path else doc.name.replace(" ", "_").lower() + ".netw"
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".netw"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            written = self.document.save(path)
        except NetwrightError as exc:
            QMessageBox.critical(self, "Cannot save project", str(exc))
            return False
        add_recent(written)
        self.statusBar().showMessage(f"Saved {written}", 5000)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        s = settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        self.document.close()
        event.accept()

    # -- settings -------------------------------------------------------------------------
    def _restore_view_settings(self) -> None:
        s = settings()
        self.set_theme(str(s.value("view/theme", theme.current().name)), remember=False)
        apply = {"show_shapes": self.scene.set_show_shapes, "snap": self.scene.set_snap,
                 "grid": self._set_grid}
        for key, name in (("view/shapes", "show_shapes"), ("view/snap", "snap"),
                          ("view/grid", "grid")):
            on = str(s.value(key, "true")).lower() == "true"
            self.acts[name].setChecked(on)
            apply[name](on)
            self.acts[name].toggled.connect(lambda value, key=key: settings().setValue(key, value))

    def _set_grid(self, on: bool) -> None:
        self.canvas.show_grid = on
        self.canvas.resetCachedContent()
        self.canvas.viewport().update()

    def _restore_window_state(self) -> None:
        s = settings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        self._first_show = not (isinstance(state, QByteArray) and self.restoreState(state))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_first_show", False):
            self._first_show = False
            self._default_dock_sizes()
        QTimer.singleShot(0, self, self._hide_stale_tab_bars)

    def _hide_stale_tab_bars(self) -> None:
        """Work around Qt (seen with 6.12): tabifying docks when another tab group exists
        leaves a second, orphaned tab bar drawn over whatever lies beneath it. The real
        bar of a group touches the edge of the group's visible dock; the orphan does not."""
        docks = {d.windowTitle(): d for d in self.findChildren(QDockWidget)}
        for bar in self.findChildren(QTabBar):
            if bar.parent() is not self or not bar.isVisible():
                continue
            shown = [docks[t] for t in (bar.tabText(i) for i in range(bar.count()))
                     if t in docks and not docks[t].visibleRegion().isEmpty()]
            if not shown:
                continue
            g, b = shown[0].geometry(), bar.geometry()
            touching = (abs(b.top() - g.bottom()) <= 4 or abs(b.bottom() - g.top()) <= 4
                        or abs(b.left() - g.right()) <= 4 or abs(b.right() - g.left()) <= 4)
            if not touching:
                bar.hide()

    def _default_dock_sizes(self) -> None:
        """First start: the canvas gets the larger part of the window; docks take the
        edges, the panels below nearly half the height (their small multiples, a dozen
        plots, were slivers at a third)."""
        # re-laying out the docks from their own state drops tab bars that Qt left behind
        # while docks were being tabified one by one before the window was shown
        self.restoreState(self.saveState())
        by_area: dict = {}
        for dock in self.findChildren(QDockWidget):
            # one dock per tab group: resizing a tab hidden behind another confuses Qt
            if dock.isVisible() and not dock.visibleRegion().isEmpty():
                by_area.setdefault(self.dockWidgetArea(dock), []).append(dock)
        sizes = {Qt.LeftDockWidgetArea: (220, Qt.Horizontal),
                 Qt.RightDockWidgetArea: (330, Qt.Horizontal),
                 Qt.BottomDockWidgetArea: (int(self.height() * 0.45), Qt.Vertical)}
        for area, (size, orientation) in sizes.items():
            docks = by_area.get(area, [])
            if docks:
                self.resizeDocks(docks, [size] * len(docks), orientation)

    def set_theme(self, name: str, remember: bool = True) -> None:
        t = theme.by_name(name)
        theme.apply(t)
        self.scene.refresh_theme()
        self.canvas.resetCachedContent()
        self.canvas.viewport().update()
        self.palette.refresh_theme()
        self.inspector.refresh()
        self.update_summary()
        for key in ("theme_light", "theme_dark"):
            if key in getattr(self, "acts", {}):
                self.acts[key].setChecked(key == f"theme_{t.name}")
        if remember:
            settings().setValue("view/theme", t.name)
        self.theme_changed.emit(t.name)


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent(path: Path) -> None:
    path = str(Path(path).resolve())
    files = [path] + [p for p in recent_files() if p != path]
    settings().setValue("recent_files", files[:MAX_RECENT])


def remove_recent(path: str) -> None:
    settings().setValue("recent_files", [p for p in recent_files() if p != path])
