"""One editor field per parameter kind, generated from `compute.params.Param`.

This is the one place where widgets and parameter values meet. A `Field` shows a value
(`set_value`, under a QSignalBlocker so showing never edits) and emits `committed` with a
value that the Param's own validator accepted; a value it refuses stays in the field,
marked, with the reason underneath and nothing is committed.
"""
from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QLabel,
                               QLineEdit, QSpinBox, QVBoxLayout, QWidget)

from compute.params import Param

INT_LIMIT = 2**31 - 1
_NUMBERS = re.compile(r"[-+]?\d+")


class FloatSpin(QDoubleSpinBox):
    """A double spin box that shows 0.5, 1e-05 and 1234.5 as a person would write them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(10)
        self.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        t = text.strip()
        try:
            v = float(t)
        except ValueError:
            ok = re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d*)?([eE][-+]?\d*)?", t) is not None
            return (QValidator.Intermediate if ok else QValidator.Invalid), text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.Acceptable, text, pos
        return QValidator.Intermediate, text, pos


def format_value(param: Param, value: Any) -> str:
    """A value as the text field shows it (also used for read-only summaries)."""
    if value is None:
        return ""
    if param.kind == "shape":
        return ", ".join(str(v) for v in value)
    if param.kind == "size":
        pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
        return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}, {pair[1]}"
    if param.kind == "optional_float":
        return f"{value:g}"
    return str(value)


def parse_text(param: Param, text: str) -> Any:
    """Text typed into a field to a raw value; ValueError says how to write it."""
    t = text.strip()
    kind = param.kind
    if kind in ("optional_int", "optional_float") and t == "":
        return None
    if kind == "padding" and t in param.choices:
        return t
    if kind in ("int", "optional_int", "padding"):
        if not re.fullmatch(r"[-+]?\d+", t):
            extra = f" or one of {', '.join(param.choices)}" if param.choices else ""
            empty = " (empty for the default)" if kind == "optional_int" else ""
            raise ValueError(f"{param.name}: write a whole number{extra}{empty}")
        return int(t)
    if kind in ("float", "optional_float"):
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"{param.name}: write a number such as 0.5 or 1e-3") from None
        if not math.isfinite(v):
            raise ValueError(f"{param.name} must be finite")
        return v
    if kind in ("shape", "size"):
        body = t.strip("[]() ")
        parts = [p for p in re.split(r"[,x×\s]+", body) if p]
        if not parts or not all(_NUMBERS.fullmatch(p) for p in parts):
            example = "1, 8, 8" if kind == "shape" else "3 or 3, 5"
            raise ValueError(f"{param.name}: write whole numbers separated by commas, "
                             f"e.g. {example}")
        nums = [int(p) for p in parts]
        if kind == "size" and len(nums) == 1:
            return nums[0]
        return nums
    raise ValueError(f"{param.name}: cannot be typed as text")


def _clamp(bound: float | None, default: int) -> int:
    """A spin box range end (Qt's spin boxes hold 32-bit ints)."""
    return default if bound is None else max(-INT_LIMIT, min(INT_LIMIT, int(bound)))


class Field(QObject):
    """A widget for one Param, with the reason for a refused value shown under it."""

    committed = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.container = QWidget(parent)
        self.editor = self._make_editor()
        self.editor.setToolTip(self._tooltip())
        self.error = QLabel(self.container)
        self.error.setWordWrap(True)
        self.error.setObjectName("fieldError")
        self.error.setStyleSheet("color: #d93a3a; font-size: 8.5pt;")
        self.error.hide()
        layout = QVBoxLayout(self.container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.editor)
        layout.addWidget(self.error)
        self._shown: Any = object()
        self.message: str | None = None     # the reason the last entry was refused

    def _tooltip(self) -> str:
        p = self.param
        bits = [p.help]
        if p.min is not None or p.max is not None:
            lo = "" if p.min is None else f"{p.min:g}"
            hi = "" if p.max is None else f"{p.max:g}"
            bits.append(f"range {lo} … {hi}")
        if p.default is not None:
            bits.append(f"default {format_value(p, p.default)}")
        return " — ".join(bits)

    def _make_editor(self) -> QWidget:
        p = self.param
        if p.kind == "int":
            w = QSpinBox(self.container)
            w.setRange(_clamp(p.min, -INT_LIMIT), _clamp(p.max, INT_LIMIT))
            w.setKeyboardTracking(False)
            w.valueChanged.connect(self._commit)
        elif p.kind == "float":
            w = FloatSpin(self.container)
            w.setRange(p.min if p.min is not None else -1e9, p.max if p.max is not None else 1e9)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(self._commit)
        elif p.kind == "bool":
            w = QCheckBox(self.container)
            w.toggled.connect(self._commit)
        elif p.kind == "choice":
            w = QComboBox(self.container)
            w.addItems([str(c) for c in p.choices])
            w.currentIndexChanged.connect(lambda i: self._commit(p.choices[i]))
        else:
            w = QLineEdit(self.container)
            if p.kind.startswith("optional"):
                w.setPlaceholderText("default")
            w.editingFinished.connect(self._commit_text)
        w.setObjectName(f"param_{p.name}")
        return w

    # -- model -> widget ------------------------------------------------------------------
    def set_value(self, value: Any) -> None:
        """Show `value` without emitting anything; clears a pending refusal."""
        self.show_error(None)
        if value == self._shown:
            return
        self._shown = value
        w = self.editor
        with QSignalBlocker(w):
            if isinstance(w, QSpinBox):
                w.setValue(int(value))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                w.setCurrentIndex(self.param.choices.index(value)
                                  if value in self.param.choices else -1)
            else:
                w.setText(format_value(self.param, value))

    # -- widget -> model ------------------------------------------------------------------
    def _commit(self, value: Any) -> None:
        try:
            self.param.validate(value)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        self.committed.emit(value)

    def _commit_text(self) -> None:
        text = self.editor.text()
        if text == format_value(self.param, self._shown) and not self.message:
            return
        try:
            value = parse_text(self.param, text)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self._commit(value)

    def show_error(self, message: str | None) -> None:
        """Mark the field as refused with the reason (None clears)."""
        self.message = message or None
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.editor.setStyleSheet("border: 1px solid #d93a3a;" if message else "")
        self.editor.setToolTip(f"{message}\n\n{self._tooltip()}" if message else self._tooltip())
