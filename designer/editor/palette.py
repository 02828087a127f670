"""The palette: every registered layer type, grouped by family, with a search box.

The list comes from `compute.layers.layer_types()`, so a layer type added to the engine
appears here without any change. Drag a type onto the canvas, or double-click it (or
press Enter) to add it in the middle of the view.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from compute.layers import FAMILIES, layer_types

from .. import theme

MIME_LAYER = "application/x-netwright-layer"
TYPE_ROLE = Qt.UserRole + 1


def swatch(colour: QColor, size: int = 12) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(colour)
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pm)


def mime_for(type_name: str) -> QMimeData:
    """What a drag from the palette carries (tests drop it on the canvas)."""
    mime = QMimeData()
    mime.setData(MIME_LAYER, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


class _Tree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [MIME_LAYER]

    def mimeData(self, items) -> QMimeData:
        names = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return mime_for(names[0]) if names else QMimeData()


class Palette(QWidget):
    """Layer types to drag onto the canvas; `add_requested(type)` on double-click/Enter."""

    add_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.families: dict[str, QTreeWidgetItem] = {}
        self.items: dict[str, QTreeWidgetItem] = {}
        self._populate()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_match)
        self.tree.itemActivated.connect(self._activated)

    def _populate(self) -> None:
        types = layer_types()
        for family in FAMILIES + tuple(sorted({c.family for c in types.values()} - set(FAMILIES))):
            members = sorted((n for n, c in types.items() if c.family == family), key=str.lower)
            if not members:
                continue
            group = QTreeWidgetItem(self.tree, [family])
            group.setFlags(Qt.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.families[family] = group
            for name in members:
                cls = types[name]
                item = QTreeWidgetItem(group, [name])
                item.setData(0, TYPE_ROLE, name)
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                params = ", ".join(p.name for p in cls.params) or "no parameters"
                item.setToolTip(0, f"<b>{name}</b><br>{cls.doc}<br><i>{params}</i>")
                self.items[name] = item
        self.tree.expandAll()
        self.refresh_theme()

    def refresh_theme(self) -> None:
        t = theme.current()
        for family, group in self.families.items():
            icon = swatch(t.family_color(family))
            for i in range(group.childCount()):
                group.child(i).setIcon(0, icon)

    def filter(self, text: str) -> None:
        """Show the types whose name, family or description contains `text`."""
        text = text.strip().lower()
        types = layer_types()
        for family, group in self.families.items():
            shown = 0
            for i in range(group.childCount()):
                item = group.child(i)
                name = item.data(0, TYPE_ROLE)
                hay = f"{name} {family} {types[name].doc}".lower()
                hidden = bool(text) and text not in hay
                item.setHidden(hidden)
                shown += not hidden
            group.setHidden(shown == 0)
            group.setExpanded(True)

    def visible_types(self) -> list[str]:
        return [n for n, item in self.items.items()
                if not item.isHidden() and not item.parent().isHidden()]

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.add_requested.emit(name)

    def _add_first_match(self) -> None:
        shown = self.visible_types()
        if len(self.search.text().strip()) and shown:
            self.add_requested.emit(shown[0])
