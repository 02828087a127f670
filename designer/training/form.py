"""Forms generated from `Param` schemas, for dataset, optimizer and training settings.

The fields themselves are the editor's (`designer.editor.fields.Field`: one widget per
param kind, the Param's own validator refusing bad values at the field, model→widget
updates under QSignalBlocker). Data sources add two kinds the editor has no field for,
``path`` (a text field with a file chooser) and ``column`` (a name or an index); this
module adds those and lays every field out in a form.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QWidget)

from compute.params import KINDS, Param

from ..editor.fields import INT_LIMIT, Field

BAD_STYLE = "border: 1px solid #d93a3a;"


class TextField(QObject):
    """A field for the data-only kinds ``path`` and ``column`` (same interface as Field)."""

    committed = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.container = QWidget(parent)
        lay = QHBoxLayout(self.container)
        lay.setContentsMargins(0, 0, 0, 0)
        self.editor = QLineEdit(self.container)
        self.editor.setObjectName(f"param_{param.name}")
        self.editor.setToolTip(param.help)
        self.editor.editingFinished.connect(lambda: self._commit(self.editor.text()))
        lay.addWidget(self.editor, 1)
        if param.kind == "path":
            browse = QPushButton("…", self.container)
            browse.setFixedWidth(28)
            browse.setToolTip("choose a file")
            browse.clicked.connect(self._browse)
            lay.addWidget(browse)
        self.message: str | None = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.container, self.param.name)
        if path:
            self.editor.setText(path)
            self._commit(path)

    def _commit(self, text: str) -> None:
        t = text.strip()
        raw: Any = int(t) if self.param.kind == "column" and t.lstrip("-").isdigit() else t
        try:
            value = self.param.validate(raw)
        except ValueError as exc:
            self.message = str(exc)
            self.editor.setStyleSheet(BAD_STYLE)
            self.editor.setToolTip(f"{exc}\n\n{self.param.help}")
            return
        self.message = None
        self.editor.setStyleSheet("")
        self.editor.setToolTip(self.param.help)
        self.committed.emit(value)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.editor):
            self.editor.setText("" if value is None else str(value))
        self.message = None
        self.editor.setStyleSheet("")


class ParamForm(QWidget):
    """A form for a tuple of Params; `changed(name, value)` on each committed edit."""

    changed = Signal(str, object)

    def __init__(self, params: tuple[Param, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, Field | TextField] = {}
        self._shown: tuple | None = None
        self.set_params(params)

    def set_params(self, params: tuple[Param, ...], labels: dict[str, str] | None = None) -> None:
        """Rebuild the fields (a different dataset or optimizer type was chosen).

        Showing the same schema again keeps the widgets: a field that just committed an
        edit must not be destroyed by the document's echo of that edit.
        """
        key = (tuple(params), tuple(sorted((labels or {}).items())))
        if key == self._shown:
            return
        self._shown = key
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.fields = {}
        for p in params:
            f = Field(_spinnable(p), self) if p.kind in KINDS else TextField(p, self)
            f.committed.connect(lambda v, name=p.name: self.changed.emit(name, p_json(v)))
            self.fields[p.name] = f
            label = (labels or {}).get(p.name, p.name.replace("_", " "))
            self.layout_.addRow(label, f.container)
            self.layout_.labelForField(f.container).setToolTip(p.help)

    def set_values(self, values: dict[str, Any]) -> None:
        for name, f in self.fields.items():
            f.set_value(values.get(name, f.param.default))

    def field(self, name: str):
        return self.fields[name]


def _spinnable(p: Param) -> Param:
    """A spin box holds 32-bit ints: a wider range (a seed up to 2³²−1) is narrowed."""
    if p.kind == "int" and (p.max or 0) > INT_LIMIT:
        return dataclasses.replace(p, max=INT_LIMIT)
    return p


def p_json(value: Any) -> Any:
    """Tuples as lists, as the project file writes them."""
    return list(value) if isinstance(value, tuple) else value


def same(a: Any, b: Any) -> bool:
    """Equality as the project file sees it (tuples and lists alike)."""
    return json.dumps(a, sort_keys=True, default=list) == json.dumps(b, sort_keys=True,
                                                                     default=list)
