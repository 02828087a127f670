"""One undoable command per verb; each calls only the document's mutators.

Commands never touch the scene: the scene follows the document's signals, so undo and
redo update the canvas for free, and every command can be tested without a view.
Compound gestures (cut, delete nodes and edges, reconnect, insert a template after the
selected node) are macros of these commands.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Iterator

from PySide6.QtGui import QUndoCommand

MOVE_ID = 1001


class _Command(QUndoCommand):
    def __init__(self, doc, text: str) -> None:
        super().__init__(text)
        self.doc = doc


class AddNodes(_Command):
    """Add a fragment (nodes with edges among them and into the existing graph)."""

    def __init__(self, doc, fragment: dict, text: str, select: bool = True) -> None:
        super().__init__(doc, text)
        self.fragment = copy.deepcopy(fragment)
        self.ids = [n["id"] for n in fragment["nodes"]]
        self.select = select

    def redo(self) -> None:
        self.doc.add_fragment(self.fragment)
        if self.select:
            self.doc.set_selection(self.ids)

    def undo(self) -> None:
        self.doc.remove_nodes(self.ids)


class DeleteNodes(_Command):
    """Delete nodes and every edge touching them; undo puts them back in place."""

    def __init__(self, doc, ids: list[str], text: str = "") -> None:
        ids = list(dict.fromkeys(ids))
        super().__init__(doc, text or (f"Delete {ids[0]}" if len(ids) == 1
                                       else f"Delete {len(ids)} nodes"))
        self.ids = ids
        self.removed: dict | None = None

    def redo(self) -> None:
        self.removed = self.doc.remove_nodes(self.ids)

    def undo(self) -> None:
        self.doc.insert_fragment(self.removed)
        self.doc.set_selection(self.ids)


class Connect(_Command):
    def __init__(self, doc, source: str, target: str, port: int) -> None:
        super().__init__(doc, f"Connect {source} → {target}")
        self.edge = (source, target, port)

    def redo(self) -> None:
        self.doc.connect(*self.edge)

    def undo(self) -> None:
        self.doc.disconnect(self.edge[1], self.edge[2])


class Disconnect(_Command):
    def __init__(self, doc, target: str, port: int) -> None:
        source = doc.graph.inputs_of(target)[port]
        super().__init__(doc, f"Disconnect {source} → {target}")
        self.edge = (source, target, port)

    def redo(self) -> None:
        self.doc.disconnect(self.edge[1], self.edge[2])

    def undo(self) -> None:
        self.doc.connect(*self.edge)


class EditParams(_Command):
    def __init__(self, doc, node_id: str, params: dict, text: str = "") -> None:
        super().__init__(doc, text or f"Edit {node_id}")
        self.node_id = node_id
        self.old = dict(doc.graph.node(node_id).params)
        self.new = dict(params)

    def redo(self) -> None:
        self.doc.set_params(self.node_id, self.new)

    def undo(self) -> None:
        self.doc.set_params(self.node_id, self.old)


class Move(_Command):
    """Move nodes. Consecutive moves of the same nodes in one gesture merge."""

    def __init__(self, doc, moves: dict[str, tuple[Any, Any]], text: str = "",
                 gesture: object = None) -> None:
        super().__init__(doc, text or (f"Move {next(iter(moves))}" if len(moves) == 1
                                       else f"Move {len(moves)} nodes"))
        self.old = {k: v[0] for k, v in moves.items()}
        self.new = {k: v[1] for k, v in moves.items()}
        self.gesture = gesture

    def id(self) -> int:
        return MOVE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, Move) or self.gesture is None
                or other.gesture != self.gesture or set(other.new) != set(self.new)):
            return False
        self.new = dict(other.new)
        return True

    def redo(self) -> None:
        self.doc.set_positions(self.new)

    def undo(self) -> None:
        self.doc.set_positions(self.old)


class Rename(_Command):
    def __init__(self, doc, old: str, new: str) -> None:
        super().__init__(doc, f"Rename {old} → {new}")
        self.old, self.new = old, new

    def redo(self) -> None:
        self.doc.rename_node(self.old, self.new)

    def undo(self) -> None:
        self.doc.rename_node(self.new, self.old)


class RenameProject(_Command):
    def __init__(self, doc, name: str) -> None:
        super().__init__(doc, f"Rename project to {name}")
        self.old, self.new = doc.project.name, name

    def redo(self) -> None:
        self.doc.set_name(self.new)

    def undo(self) -> None:
        self.doc.set_name(self.old)


class SetSection(_Command):
    """Replace the project's "data" or "training" settings (from the training panels)."""

    def __init__(self, doc, name: str, new: dict, text: str) -> None:
        super().__init__(doc, text)
        self.name = name
        self.old = copy.deepcopy(getattr(doc.project, name))
        self.new = copy.deepcopy(new)

    def redo(self) -> None:
        self.doc.set_section_value(self.name, self.new)

    def undo(self) -> None:
        self.doc.set_section_value(self.name, self.old)


@contextmanager
def macro(doc, text: str) -> Iterator[None]:
    """Group the commands pushed inside into one undo step."""
    doc.undo_stack.beginMacro(text)
    try:
        yield
    finally:
        doc.undo_stack.endMacro()
