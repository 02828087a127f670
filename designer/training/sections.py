"""Editors for the project's "data" (here) and "training" (settings.py) sections, each
edit one undo step.

Widgets show the resolved settings (defaults filled) and write back only what the user
changed, into the section as the file holds it, through `document.set_section`. When the
document changes (undo, redo, another window), `sync()` shows it again.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QListWidget, QPushButton, QVBoxLayout, QWidget)

from compute.data import AUGMENTATIONS, DATASETS, input_kind
from compute.errors import NetwrightError
from compute.project import DATA_FIELDS, resolve_data, resolve_training

from .form import ParamForm, same
from .preview import DatasetPreview


class _Section(QWidget):
    section = ""

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        document.settings_changed.connect(self.sync)

    def raw(self) -> dict:
        return copy.deepcopy(getattr(self.document.project, self.section) or {})

    def commit(self, new: dict, text: str) -> None:
        if not same(new, getattr(self.document.project, self.section)):
            self.document.set_section(self.section, new, text)

    def resolved(self) -> dict:
        fn = resolve_data if self.section == "data" else resolve_training
        try:
            return fn(self.raw())
        except NetwrightError:
            return fn({})

    def sync(self) -> None:
        raise NotImplementedError


class DataSection(_Section):
    """Dataset, its params, the split and target, augmentation, and a preview."""

    section = "data"

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QFormLayout()
        self.dataset = QComboBox()
        self.dataset.addItem("(choose a dataset)", None)
        for ident, info in DATASETS.items():
            self.dataset.addItem(info.title, ident)
            self.dataset.setItemData(self.dataset.count() - 1, info.doc, Qt.ToolTipRole)
        self.dataset.currentIndexChanged.connect(self._dataset_chosen)
        top.addRow("dataset", self.dataset)
        lay.addLayout(top)
        self.doc_label = QLabel()
        self.doc_label.setWordWrap(True)
        lay.addWidget(self.doc_label)
        self.params = ParamForm()
        self.params.changed.connect(self._param_changed)
        lay.addWidget(self.params)
        self.fields = ParamForm(DATA_FIELDS)
        self.fields.changed.connect(self._field_changed)
        lay.addWidget(self.fields)
        lay.addWidget(self._augmentation_box())
        self.preview = DatasetPreview()
        lay.addWidget(self.preview, 1)
        self._shown_params: str | None = None
        self._preview_key = None
        self.sync()

    # -- augmentation --------------------------------------------------------------------
    def _augmentation_box(self) -> QGroupBox:
        box = QGroupBox("augmentation (training batches only)")
        v = QVBoxLayout(box)
        self.aug_list = QListWidget()
        self.aug_list.setMaximumHeight(70)
        self.aug_list.currentRowChanged.connect(self._aug_selected)
        v.addWidget(self.aug_list)
        row = QHBoxLayout()
        self.aug_add = QComboBox()
        self.aug_add.addItem("add a step…", None)
        for name in AUGMENTATIONS:
            self.aug_add.addItem(name, name)
        self.aug_add.activated.connect(self._aug_add)
        self.aug_remove = QPushButton("Remove")
        self.aug_remove.clicked.connect(self._aug_remove)
        row.addWidget(self.aug_add, 1)
        row.addWidget(self.aug_remove)
        v.addLayout(row)
        self.aug_form = ParamForm()
        self.aug_form.changed.connect(self._aug_param)
        v.addWidget(self.aug_form)
        return box

    def _aug_add(self, index: int) -> None:
        name = self.aug_add.itemData(index)
        self.aug_add.setCurrentIndex(0)
        if name is None:
            return
        raw = self.raw()
        raw["augmentation"] = list(raw.get("augmentation", [])) + [{"type": name}]
        self.commit(raw, f"Add augmentation {name}")

    def _aug_remove(self) -> None:
        row = self.aug_list.currentRow()
        raw = self.raw()
        steps = list(raw.get("augmentation", []))
        if 0 <= row < len(steps):
            name = steps.pop(row).get("type")
            raw["augmentation"] = steps
            self.commit(raw, f"Remove augmentation {name}")

    def _aug_selected(self, row: int) -> None:
        steps = self.resolved().get("augmentation", [])
        if 0 <= row < len(steps):
            self.aug_form.set_params(AUGMENTATIONS[steps[row]["type"]])
            self.aug_form.set_values(steps[row])
        else:
            self.aug_form.set_params(())

    def _aug_param(self, name: str, value: Any) -> None:
        row = self.aug_list.currentRow()
        raw = self.raw()
        steps = list(raw.get("augmentation", []))
        if 0 <= row < len(steps):
            steps[row] = {**steps[row], name: value}
            raw["augmentation"] = steps
            self.commit(raw, f"Set augmentation {steps[row]['type']} {name}")

    # -- dataset and fields --------------------------------------------------------------
    def _dataset_chosen(self, index: int) -> None:
        ident = self.dataset.itemData(index)
        raw = self.raw()
        if raw.get("dataset") == ident:
            return
        raw["dataset"] = ident
        raw.pop("params", None)
        if ident is None:
            raw.pop("augmentation", None)
        self.commit(raw, f"Choose dataset {ident}")

    def _param_changed(self, name: str, value: Any) -> None:
        raw = self.raw()
        raw["params"] = {**(raw.get("params") or {}), name: value}
        self.commit(raw, f"Set dataset {name}")

    def _field_changed(self, name: str, value: Any) -> None:
        raw = self.raw()
        raw[name] = value
        self.commit(raw, f"Set {name.replace('_', ' ')}")

    def sync(self) -> None:
        d = self.resolved()
        ident = d.get("dataset")
        with QSignalBlocker(self.dataset):
            self.dataset.setCurrentIndex(max(self.dataset.findData(ident), 0))
        info = DATASETS.get(ident)
        self.doc_label.setText(info.doc if info else "Choose the data the network learns from.")
        if self._shown_params != ident:
            self.params.set_params(info.params if info else ())
            self._shown_params = ident
        self.params.set_values(d.get("params") or {})
        self.fields.set_values(d)
        steps = d.get("augmentation", [])
        row = self.aug_list.currentRow()
        with QSignalBlocker(self.aug_list):
            self.aug_list.clear()
            for s in steps:
                args = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in s.items() if k != "type")
                self.aug_list.addItem(f"{s['type']}  ({args})" if args else s["type"])
            if steps:
                self.aug_list.setCurrentRow(min(max(row, 0), len(steps) - 1))
        self._aug_selected(self.aug_list.currentRow())
        self._refresh_preview(d)

    def _refresh_preview(self, d: dict) -> None:
        seed = self.document.project.resolved_training().get("seed", 0) \
            if _safe_training(self.document) else 0
        key = (repr({k: d.get(k) for k in ("dataset", "params", "validation_split")}), seed,
               str(self.document.path))
        if key == self._preview_key:
            return
        self._preview_key = key
        self.preview.load(d, self.document.project.base_dir, seed)

    def augmentation_kinds(self) -> str | None:
        ds = self.preview.dataset
        return input_kind(ds.input_shape, ds.input_dtype) if ds is not None else None


def _safe_training(document) -> bool:
    try:
        document.project.resolved_training()
        return True
    except NetwrightError:
        return False
