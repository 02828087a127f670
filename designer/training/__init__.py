"""Training from the window: the worker, the training dock and the live panels.

`install(window)` is called once by the main window at the end of its construction. It
adds Train / Pause / Stop / Reset weights to the Train menu and the toolbar, the training
dock, one dock per live panel, and the gradient tint on the canvas, all bound to the
window's document through one `TrainingSession`. The controller it returns is kept as
`window.training`.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

__all__ = ["install", "TrainingController"]


class TrainingController(QObject):
    """Owns the session, the actions, the docks and the canvas overlay of one window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        from ..panels import PANELS
        from . import calm, hosts
        from .dock import TrainingDock
        from .overlay import GradientOverlay
        from .preparing import PreparingIndicator
        from .session import TrainingSession

        calm.collect_on_gui_thread()       # never on another thread (see calm.py)
        calm.steady_heap()                 # a memory map that rarely changes (calm.py)
        QTimer.singleShot(0, hosts.spare)  # the training process starts while we wait
        self.window = window
        self.session = TrainingSession(window.document, self)
        self.actions = self._actions()
        self.dock = TrainingDock(self.session, self.actions, window)
        window.add_dock(self.dock, Qt.RightDockWidgetArea,
                        tabify_with=getattr(window, "inspector_dock", None))
        self.panels = {}
        self.panel_docks: dict[str, QDockWidget] = {}
        first = None
        for key, cls in PANELS.items():
            panel = cls(self.session, self.select_node) if key == "diagnosis" else \
                cls(self.session)
            dock = QDockWidget(cls.title, window)
            dock.setObjectName(f"dock_panel_{key}")
            dock.setWidget(panel)
            window.add_dock(dock, Qt.BottomDockWidgetArea, tabify_with=first)
            # a panel brought to the front (its tab chosen) catches up at once
            dock.visibilityChanged.connect(
                lambda shown, p=panel: shown and QTimer.singleShot(
                    0, lambda: p.refresh(paced=False)))
            first = first or dock
            self.panels[key] = panel
            self.panel_docks[key] = dock
        if first is not None:
            first.raise_()
        self.overlay = GradientOverlay(window, self.session)
        self.preparing = PreparingIndicator(window)
        window.statusBar().addPermanentWidget(self.preparing)
        self.session.state_changed.connect(self._update_actions)
        self.session.message.connect(self._status)
        self.session.run_started.connect(self._show_panels)
        self._update_actions(self.session.state)
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        """When the window closes (the close was accepted), end a run that is going on."""
        if obj is self.window and event.type() == QEvent.Close:
            QTimer.singleShot(0, self._after_close)
        return False

    def _after_close(self) -> None:
        if not self.window.isVisible():
            self.shutdown()

    # -- actions ---------------------------------------------------------------------------
    def _actions(self) -> dict[str, QAction]:
        w = self.window
        a: dict[str, QAction] = {}

        def act(key: str, text: str, slot, shortcut: str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
            action = QAction(text, w)
            action.setObjectName(f"train_{key}")
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(tip or text.replace("&", ""))
            action.setStatusTip(action.toolTip())
            action.setCheckable(checkable)
            (action.toggled if checkable else action.triggered).connect(slot)
            a[key] = action
            return action

        act("train", "&Train", self.train, "F5", "Train the network on its data (F5)")
        act("pause", "&Pause", self.set_paused, "F6", "Pause or resume the run (F6)",
            checkable=True)
        act("stop", "&Stop", self.stop, "Shift+F5", "Stop the run after the current step")
        act("reset", "&Reset weights", self.reset_weights, None,
            "Forget the trained weights: the next run starts from a fresh initialisation")
        act("overlay", "Show &gradient flow on the canvas", self.overlay_toggled, None,
            "Tint nodes and edges by gradient norm while training", checkable=True)
        a["overlay"].setChecked(True)
        act("clear_runs", "&Clear earlier runs", self.clear_runs, None,
            "Remove the faded curves of earlier runs")
        menu = w.menus.get("Train")
        if menu is not None:
            menu.addActions([a["train"], a["pause"], a["stop"]])
            menu.addSeparator()
            menu.addActions([a["reset"], a["clear_runs"], a["overlay"]])
        toolbar = getattr(w, "toolbar", None)
        if toolbar is not None:
            toolbar.addSeparator()
            toolbar.addActions([a["train"], a["pause"], a["stop"]])
        return a

    def _update_actions(self, state: str) -> None:
        busy = state != "idle"
        a = self.actions
        a["train"].setEnabled(not busy)
        a["pause"].setEnabled(busy and state != "stopping")
        a["stop"].setEnabled(busy and state != "stopping")
        a["reset"].setEnabled(not busy)
        paused = state == "paused"
        if a["pause"].isChecked() != paused:
            a["pause"].blockSignals(True)
            a["pause"].setChecked(paused)
            a["pause"].blockSignals(False)
        a["pause"].setText("&Resume" if paused else "&Pause")

    # -- slots -----------------------------------------------------------------------------
    def train(self) -> None:
        self.session.start(continue_weights=self.dock.continue_box.isChecked())

    def set_paused(self, on: bool) -> None:
        if on:
            self.session.pause()
        else:
            self.session.resume()

    def stop(self) -> None:
        self.session.stop()

    def reset_weights(self) -> None:
        """The next run starts from a fresh initialisation (a saved file stays on disk)."""
        self.session.reset_weights()
        self.dock.continue_box.setChecked(False)

    def clear_runs(self) -> None:
        self.session.runs.clear()
        self.panels["loss"].refresh(force=True)

    def overlay_toggled(self, on: bool) -> None:
        if hasattr(self, "overlay"):
            self.overlay.set_enabled(on)

    def select_node(self, node_id: str) -> None:
        w = self.window
        if hasattr(w, "select_node"):
            w.select_node(node_id)
        else:
            w.scene.select_node(node_id)

    def _status(self, text: str, level: str) -> None:
        if text:
            self.window.statusBar().showMessage(text, 0 if level == "error" else 15000)

    def _show_panels(self, _run) -> None:
        """Make sure a panel is on screen when a run starts (the loss, unless the user
        chose another tab)."""
        docks = [d for d in self.panel_docks.values() if d.isVisible()]
        if not docks:
            self.panel_docks["loss"].show()
            self.panel_docks["loss"].raise_()

    def shutdown(self) -> None:
        self.session.shutdown()


def install(window) -> TrainingController:
    """Add the training actions, docks and panels to a main window (see the module doc)."""
    controller = TrainingController(window)
    window.training = controller
    return controller
