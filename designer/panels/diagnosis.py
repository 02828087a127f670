"""Panel 8: plain-language findings, each pointing at a node and offering a fix.

Findings come from `designer.training.diagnosis` (Qt-free rules over the run's metric
histories), recomputed a couple of times a second while training and once at the end.
Clicking a finding selects its node on the canvas; a fix that is a change of training
settings can be applied with one (undoable) click.
"""
from __future__ import annotations

import html
from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QWidget)

from ..training.diagnosis import Finding, apply_patch
from .base import Panel

SEVERITY_COLORS = {"error": "#d0455b", "warning": "#c98a00", "info": "#3b6fd4"}
SEVERITY_MARK = {"error": "✖", "warning": "⚠", "info": "ℹ"}


class FindingView(QWidget):
    """One finding: title and node, what was seen, the fix, and a button for the fix."""

    def __init__(self, finding: Finding, apply: Callable[[Finding], None]) -> None:
        super().__init__()
        self.finding = finding
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        f = finding
        color = SEVERITY_COLORS[f.severity]
        where = f" — <i>{html.escape(f.node)}</i>" if f.node else ""
        self.label = QLabel(
            f"<b style='color:{color}'>{SEVERITY_MARK[f.severity]} {html.escape(f.title)}</b>"
            f"{where}<br>{html.escape(f.detail)}<br><b>Fix:</b> {html.escape(f.fix)}")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setAttribute(Qt.WA_TransparentForMouseEvents)
        lay.addWidget(self.label, 1)
        self.button = None
        if f.patch:
            self.button = QPushButton("Apply fix")
            self.button.setToolTip("set " + _describe(f.patch) + " (undoable)")
            self.button.clicked.connect(lambda: apply(f))
            lay.addWidget(self.button, 0, Qt.AlignTop)


class DiagnosisPanel(Panel):
    title = "Diagnosis"
    kinds = frozenset()          # driven by the session's findings, not by raw events

    def __init__(self, session, select_node: Callable[[str], None] | None = None,
                 parent=None) -> None:
        super().__init__(session, parent)
        self.select_node = select_node
        lay = self.layout_with_note()
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)   # rows wrap instead
        self.list.itemClicked.connect(self._clicked)
        lay.addWidget(self.list, 1)
        self.findings: list[Finding] = []
        self.views: list[FindingView] = []
        self._rows_stale = False        # findings not yet shown as rows (panel hidden)
        # a new run clears the findings through findings_changed (no reset of its own)
        session.findings_changed.connect(self.show_findings)
        session.run_finished.connect(lambda _run: self._show_note())   # "…in this run"
        self.show_findings([])

    def redraw(self) -> None:
        if self._rows_stale:
            self._build_rows()

    def show_findings(self, findings: list[Finding]) -> None:
        """List `findings`; the same ones again only update the note. Rebuilding the
        rich-text rows takes 15-22 ms of a frame: a hidden panel (another tab in front)
        builds them when it is shown."""
        changed = list(findings) != self.findings
        self.findings = list(findings)
        self._show_note()
        if changed:
            self._rows_changed()

    def _rows_changed(self) -> None:
        if self.on_screen():
            self._build_rows()
        else:
            self._rows_stale = self.dirty = True    # redrawn when shown (see `redraw`)

    def _show_note(self) -> None:
        run = self.session.current
        if self.findings:
            self.set_note("Click a finding to select its node on the canvas.")
        elif run is None or not run.step:
            self.set_note("Findings about the run appear here while and after training.")
        else:
            self.set_note("No problems found" + (" so far." if run.running else
                                                 " in this run."))

    def _build_rows(self) -> None:
        self._rows_stale = False
        self.list.clear()
        self.views = []
        # room for the vertical scroll bar, which shows once the rows overflow the list
        bar = self.list.verticalScrollBar().sizeHint().width()
        width = max(self.list.viewport().width() - 12 - bar, 300)
        for f in self.findings:
            view = FindingView(f, self.apply)
            item = QListWidgetItem()
            item.setData(Qt.UserRole, f)
            item.setToolTip(f"{f.detail}\n\nFix: {f.fix}")
            view.setFixedWidth(width)
            height = view.heightForWidth(width)            # the wrapped text's real height
            item.setSizeHint(QSize(width, height if height > 0 else view.sizeHint().height()))
            self.list.addItem(item)
            self.list.setItemWidget(item, view)
            self.views.append(view)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.findings:
            self._rows_changed()                # re-wrap the text to the new width

    def _clicked(self, item: QListWidgetItem) -> None:
        f = item.data(Qt.UserRole)
        if f is not None and f.node and self.select_node is not None:
            self.select_node(f.node)

    def apply(self, f: Finding) -> None:
        """Apply a finding's fix to the training settings, as one undoable edit."""
        if not f.patch:
            return
        doc = self.session.document
        doc.set_section("training", apply_patch(doc.project.training, f.patch),
                        f"Fix: {f.title} ({_describe(f.patch)})")


def _describe(patch: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in patch.items())
