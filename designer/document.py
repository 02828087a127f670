"""The open project: its graph and settings, the undo stack, dirty state, files, autosave.

The document is the only object that changes a project. It offers a small set of
mutators (`add_fragment`, `remove_nodes`, `connect`, ...) that commands call in `redo`/
`undo`; each mutator changes the compute model and emits `graph_changed` (or
`settings_changed`), and the scene, the inspector and the panels follow those signals.
Nothing here draws; nothing in compute knows about this class.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from compute import Graph, Shapes
from compute.project import Project, load_project, save_project


AUTOSAVE_MS = 60_000
SECTIONS = ("data", "training")


def recovery_dir() -> Path:
    """Where autosaved recovery files live (NETWRIGHT_STATE_DIR overrides, for tests)."""
    base = os.environ.get("NETWRIGHT_STATE_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.AppLocalDataLocation) or str(Path.home() / ".netwright")
    path = Path(base) / "recovery"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Document(QObject):
    """One project being edited. See the module docstring for the flow of changes."""

    graph_changed = Signal()
    settings_changed = Signal()
    clean_changed = Signal(bool)
    selection_changed = Signal(list)
    path_changed = Signal()          # path or project name changed: retitle windows
    project_replaced = Signal()      # a whole new project was loaded into this document

    def __init__(self, project: Project | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project or Project()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self._selection: list[str] = []
        self._shapes: Shapes | None = None
        self.revision = 0
        self._recovery: Path | None = None
        self._lock: QLockFile | None = None
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)

    # -- what is open ---------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def path(self) -> Path | None:
        return self.project.path

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def shapes(self) -> Shapes:
        """Shape inference of the current graph, rerun after each structural change."""
        if self._shapes is None:
            self._shapes = self.graph.infer_shapes()
        return self._shapes

    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def is_empty(self) -> bool:
        return len(self.graph) == 0 and not self.project.data and not self.project.training

    # -- commands -------------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def set_section(self, name: str, new: dict, text: str) -> None:
        """Undoably replace the project's "data" or "training" dict."""
        from .editor.commands import SetSection

        if name not in SECTIONS:
            raise ValueError(f"unknown project section {name!r}")
        if getattr(self.project, name) != new:
            self.push(SetSection(self, name, new, text))

    # -- mutators (called by commands only) -----------------------------------------------
    def add_fragment(self, fragment: dict) -> None:
        """Append nodes and wire edges (nodes first, so edges may point into the fragment)."""
        g = self.graph
        for n in fragment.get("nodes", []):
            g.add_node(n["id"], n["type"], n.get("params", {}), n.get("position"))
        for e in fragment.get("edges", []):
            g.connect(e["source"], e["target"], e.get("port", 0))
        self._changed()

    def remove_nodes(self, ids: Iterable[str]) -> dict:
        """Remove nodes with their edges; returns what `insert_fragment` needs to undo it."""
        ids = list(dict.fromkeys(ids))
        data = self.graph.to_dict()
        order = [n["id"] for n in data["nodes"]]
        removed = {"nodes": [], "edges": []}
        for node in data["nodes"]:
            if node["id"] in ids:
                removed["nodes"].append({"index": order.index(node["id"]), **node})
        drop = set(ids)
        removed["edges"] = [e for e in data["edges"]
                            if e["source"] in drop or e["target"] in drop]
        for node_id in ids:
            self.graph.remove_node(node_id)
        self._changed()
        return removed

    def insert_fragment(self, removed: dict) -> None:
        """Put back nodes at their old places in the node order, with their edges.

        The graph is refilled in place (same object), so whoever holds it stays current.
        """
        data = self.graph.to_dict()
        nodes = data["nodes"]
        for node in sorted(removed["nodes"], key=lambda n: n["index"]):
            entry = {k: v for k, v in node.items() if k != "index"}
            nodes.insert(node["index"], entry)
        g = self.graph
        for node_id in list(g.nodes):
            g.remove_node(node_id)
        for n in nodes:
            g.add_node(n["id"], n["type"], n.get("params", {}), n.get("position"))
        for e in data["edges"] + removed["edges"]:
            g.connect(e["source"], e["target"], e.get("port", 0))
        self._changed()

    def connect(self, source: str, target: str, port: int) -> None:
        self.graph.connect(source, target, port)
        self._changed()

    def disconnect(self, target: str, port: int) -> str:
        edge = self.graph.disconnect(target, port)
        self._changed()
        return edge.source

    def set_params(self, node_id: str, params: dict) -> None:
        self.graph.set_params(node_id, params)
        self._changed()

    def set_positions(self, positions: dict[str, Any]) -> None:
        for node_id, pos in positions.items():
            self.graph.set_position(node_id, pos)
        self._changed(structure=False)

    def rename_node(self, old: str, new: str) -> None:
        self.graph.rename_node(old, new)
        self._selection = [new if s == old else s for s in self._selection]
        self._changed()

    def set_section_value(self, name: str, value: dict) -> None:
        setattr(self.project, name, json.loads(json.dumps(value)))
        self.revision += 1
        self.settings_changed.emit()

    def set_name(self, name: str) -> None:
        self.project.name = name
        self.revision += 1
        self.settings_changed.emit()
        self.path_changed.emit()

    def _changed(self, structure: bool = True) -> None:
        if structure:
            self._shapes = None
        self.revision += 1
        self.graph_changed.emit()

    # -- selection ------------------------------------------------------------------------
    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    def set_selection(self, ids: Iterable[str]) -> None:
        ids = [i for i in ids if self.graph.has_node(i)]
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(list(ids))

    def select(self, node_id: str | None) -> None:
        """Select one node (None clears); the canvas and the inspector follow."""
        self.set_selection([] if node_id is None else [node_id])

    # -- files ----------------------------------------------------------------------------
    def load(self, path: str | os.PathLike) -> bool:
        """Replace the project with the file's; on error (NetwrightError) nothing changes.

        Returns True when the file had nodes without positions and they were laid out.
        """
        project = load_project(path)
        self.replace_project(project)
        return self.add_missing_positions()

    def replace_project(self, project: Project, dirty: bool = False) -> None:
        """Start over with `project`: a fresh undo history, no selection."""
        self.discard_recovery()
        self.project = project
        self._selection = []
        self.undo_stack.clear()
        if dirty:
            # a recovered document differs from its file: no undo makes it clean again
            self.undo_stack.resetClean()
        self._changed()
        self.settings_changed.emit()
        self.selection_changed.emit([])
        self.path_changed.emit()
        self.project_replaced.emit()
        self.clean_changed.emit(self.undo_stack.isClean())
        self._update_autosave()

    def add_missing_positions(self, sizes: dict | None = None, force: bool = False,
                              max_width: float | None = 1400.0) -> bool:
        """Lay out a graph saved without positions (not an edit: the file is unchanged).

        `force` lays out every node again (the window does it once it knows node sizes).
        """
        from .editor.layout import auto_layout

        g = self.graph
        if not force and all(g.node(n).position is not None for n in g.nodes):
            return False
        for node_id, pos in auto_layout(g, sizes, max_width=max_width).items():
            g.set_position(node_id, pos)
        self._changed(structure=False)
        return True

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write atomically (raises NetwrightError); marks the document clean."""
        written = save_project(self.project, path if path is not None else self.project.path)
        self.undo_stack.setClean()
        self.discard_recovery()
        self.path_changed.emit()
        return written

    # -- autosave and recovery ------------------------------------------------------------
    def _on_clean_changed(self, clean: bool) -> None:
        self._update_autosave()
        self.clean_changed.emit(clean)

    def _on_index_changed(self, _index: int) -> None:
        self._update_autosave()

    def _update_autosave(self) -> None:
        if self.is_dirty():
            if not self._autosave.isActive():
                self._autosave.start()
        else:
            self._autosave.stop()
            self.discard_recovery()

    @property
    def recovery_path(self) -> Path | None:
        return self._recovery

    def autosave(self) -> Path | None:
        """Write the project to this document's recovery file (not to its own path)."""
        if not self.is_dirty():
            return None
        if self._recovery is None:
            folder = recovery_dir()
            self._recovery = folder / f"recovery-{uuid.uuid4().hex[:12]}.netw"
            self._lock = QLockFile(str(self._recovery) + ".lock")
            self._lock.setStaleLockTime(0)
            self._lock.tryLock(0)
        original = self.project.path
        copy = Project(self.project.name, self.project.graph, self.project.data,
                       self.project.training, None)
        try:
            save_project(copy, self._recovery)
            meta = {"path": str(original) if original else None, "name": self.project.name,
                    "saved": time.time()}
            self._recovery.with_suffix(".json").write_text(json.dumps(meta), "utf-8")
        except Exception:   # autosave must never disturb editing; the next tick retries
            return None
        return self._recovery

    def discard_recovery(self) -> None:
        """Remove this document's recovery file (after a save or a clean close)."""
        if self._recovery is not None:
            for p in (self._recovery, self._recovery.with_suffix(".json")):
                try:
                    p.unlink()
                except OSError:
                    pass
            if self._lock is not None:
                self._lock.unlock()
                self._lock = None
            self._recovery = None

    def close(self) -> None:
        self._autosave.stop()
        self.discard_recovery()


def orphaned_recoveries() -> list[tuple[Path, dict]]:
    """Recovery files left by a process that ended without saving (newest first).

    A running window holds a lock on its own file, so only files of crashed sessions are
    offered.
    """
    found = []
    for path in recovery_dir().glob("recovery-*.netw"):
        lock = QLockFile(str(path) + ".lock")
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue
        lock.unlock()
        try:
            meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
        except (OSError, ValueError):
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        meta.setdefault("saved", path.stat().st_mtime)
        found.append((path, meta))
    return sorted(found, key=lambda f: -float(f[1].get("saved") or 0))


def discard_recovery_file(path: Path) -> None:
    for p in (path, path.with_suffix(".json"), Path(str(path) + ".lock")):
        try:
            p.unlink()
        except OSError:
            pass
