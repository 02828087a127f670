"""The inspector: the selected node's form and numbers, or the project when none is.

The node form is generated from the layer's Param schema by `fields`; every commit goes
through `edits`, so a refusal appears at the field with the same words the project
loader would use. Numbers (output shape, parameters, multiply-adds) come from `stats`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QFrame, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QScrollArea, QStackedWidget, QVBoxLayout,
                               QWidget)

from compute import layer_class

from .. import theme
from . import edits, stats
from .fields import Field
from .items import fmt_shape
from .unrolled import UnrolledView


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.HLine)
    line.setFrameShadow(QFrame.Sunken)
    return line


class NodePage(QWidget):
    """Form and numbers of one node."""

    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self.type_name: str | None = None
        self.fields: dict[str, Field] = {}
        self.title = QLabel()
        self.title.setTextFormat(Qt.RichText)
        self.doc_label = QLabel()
        self.doc_label.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setObjectName("nodeProblem")
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("node_id")
        self.id_edit.setToolTip("the node's id: letters, digits, '_', '-' or '.'")
        self.id_edit.editingFinished.connect(self._rename)
        self.id_error = QLabel()
        self.id_error.setWordWrap(True)
        self.id_error.setStyleSheet("color: #d93a3a; font-size: 8.5pt;")
        self.id_error.hide()
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.numbers = QFormLayout()
        self.out_shape, self.n_params, self.n_macs = QLabel(), QLabel(), QLabel()
        for label in (self.out_shape, self.n_params, self.n_macs):
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.numbers.addRow("Output shape", self.out_shape)
        self.numbers.addRow("Parameters", self.n_params)
        self.numbers.addRow("Multiply-adds", self.n_macs)
        self.network = QLabel()
        self.network.setWordWrap(True)
        self.numbers.addRow("Network", self.network)
        self.unrolled_title = _heading("Unrolled in time")
        self.unrolled = UnrolledView()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.doc_label)
        id_form = QFormLayout()
        id_form.addRow("id", self.id_edit)
        id_form.addRow("", self.id_error)
        layout.addLayout(id_form)
        layout.addWidget(self.problem)
        layout.addWidget(_separator())
        layout.addWidget(_heading("Parameters"))
        layout.addWidget(self.form_host)
        layout.addWidget(_separator())
        layout.addLayout(self.numbers)
        layout.addWidget(self.unrolled_title)
        layout.addWidget(self.unrolled)
        layout.addStretch(1)

    def show_node(self, node_id: str) -> None:
        node = self.doc.graph.node(node_id)
        cls = layer_class(node.type)
        if node.type != self.type_name:
            self._build_form(cls)
        self.node_id, self.type_name = node_id, node.type
        colour = theme.current().family_color(cls.family)
        self.title.setText(f"<span style='color:{colour.name()}'>■</span> "
                           f"<b>{cls.type_name}</b> "
                           f"<span style='color:gray'>· {cls.family}</span>")
        self.doc_label.setText(cls.doc)
        if not self.id_edit.hasFocus() or self.id_edit.text() != node_id:
            self.id_edit.setText(node_id)
        self.id_error.hide()
        for name, field in self.fields.items():
            field.set_value(node.config.get(name))
        self._show_problem(node_id)
        self._show_numbers(node_id)
        recurrent = cls.family == "Recurrent" and any(p.name == "units" for p in cls.params)
        self.unrolled_title.setVisible(recurrent)
        self.unrolled.setVisible(recurrent)
        if recurrent:
            self.unrolled.show_layer(cls.type_name, node.config)

    def _build_form(self, cls) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        for field in self.fields.values():
            field.deleteLater()
        self.fields = {}
        for param in cls.params:
            field = Field(param, self.form_host)
            field.committed.connect(lambda value, name=param.name: self._commit(name, value))
            label = QLabel(param.name.replace("_", " "))
            label.setToolTip(param.help)
            self.form.addRow(label, field.container)
            self.fields[param.name] = field
        if not cls.params:
            self.form.addRow(QLabel("<i>no parameters</i>"))

    def _commit(self, name: str, value) -> None:
        if self.node_id is None or not self.doc.graph.has_node(self.node_id):
            return
        reason = edits.set_param(self.doc, self.node_id, name, value)
        if reason:
            self.fields[name].show_error(reason)

    def _rename(self) -> None:
        if self.node_id is None or not self.doc.graph.has_node(self.node_id):
            return
        reason = edits.rename(self.doc, self.node_id, self.id_edit.text())
        self.id_error.setText(reason or "")
        self.id_error.setVisible(bool(reason))

    def _show_problem(self, node_id: str) -> None:
        shapes = self.doc.shapes
        error, pending = shapes.errors.get(node_id), shapes.pending.get(node_id)
        t = theme.current()
        if error:
            self.problem.setText(f"<span style='color:{t.error}'><b>Cannot work:</b> "
                                 f"{error}</span>")
        elif pending:
            self.problem.setText(f"<span style='color:{t.muted_text}'>{pending}</span>")
        self.problem.setVisible(bool(error or pending))

    def _show_numbers(self, node_id: str) -> None:
        s = stats.node_stats(self.doc.graph, self.doc.shapes, node_id)
        self.out_shape.setText(fmt_shape(s.shape) if s.shape is not None else "unknown")
        self.n_params.setText(stats.human(s.params))
        self.n_params.setToolTip("\n".join(f"{k}: {fmt_shape(v)}" for k, v in s.weights.items()))
        self.n_macs.setText(f"{stats.human(s.macs)} per sample" if s.macs is not None else "—")
        t = stats.totals(self.doc.graph, self.doc.shapes)
        so_far = "" if t.complete else " so far"
        self.network.setText(f"{stats.human(t.params)} parameters, {stats.human(t.macs)} "
                             f"multiply-adds per sample{so_far}")


class ProjectPage(QWidget):
    """With nothing selected: the project's name, data and training settings, totals and
    the problems that keep the network from being built."""

    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("project_name")
        self.name_edit.editingFinished.connect(self._rename)
        self.name_error = QLabel()
        self.name_error.setStyleSheet("color: #d93a3a; font-size: 8.5pt;")
        self.name_error.hide()
        self.settings = QFormLayout()
        self.totals = QFormLayout()
        self.problems = QListWidget()
        self.problems.setObjectName("problems")
        self.problems.setWordWrap(True)
        self.problems.itemClicked.connect(self._problem_clicked)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Project", self.name_edit)
        form.addRow("", self.name_error)
        layout.addLayout(form)
        layout.addWidget(_separator())
        layout.addWidget(_heading("Data and training"))
        layout.addLayout(self.settings)
        layout.addWidget(_separator())
        layout.addWidget(_heading("Network"))
        layout.addLayout(self.totals)
        layout.addWidget(_heading("Problems"))
        layout.addWidget(self.problems, 1)

    def refresh(self) -> None:
        if not self.name_edit.hasFocus():
            self.name_edit.setText(self.doc.project.name)
        _fill(self.settings, settings_rows(self.doc.project))
        g, shapes = self.doc.graph, self.doc.shapes
        t = stats.totals(g, shapes)
        suffix = "" if t.complete else " (so far)"
        _fill(self.totals, [("Nodes", f"{len(g)}"), ("Edges", f"{len(g.edges)}"),
                            ("Parameters", stats.human(t.params) + suffix),
                            ("Multiply-adds", f"{stats.human(t.macs)} per sample{suffix}")])
        self.problems.clear()
        issues = g.validate() if len(g) else []
        for issue in issues:
            item = QListWidgetItem(issue.message)
            item.setData(Qt.UserRole, issue.node)
            self.problems.addItem(item)
        if not issues:
            self.problems.addItem("None: the network can be built." if len(g)
                                  else "Drag layers from the palette to start.")

    def _rename(self) -> None:
        reason = edits.rename_project(self.doc, self.name_edit.text())
        self.name_error.setText(reason or "")
        self.name_error.setVisible(bool(reason))

    def _problem_clicked(self, item: QListWidgetItem) -> None:
        node = item.data(Qt.UserRole)
        if node:
            self.doc.select(node)


def settings_rows(project) -> list[tuple[str, str]]:
    """Readable rows for the data and training settings (defaults filled in)."""
    try:
        from compute.project import resolve_data, resolve_training

        data, training = resolve_data(project.data), resolve_training(project.training)
    except Exception:     # older engine or a half-valid section: show what the file says
        data, training = dict(project.data), dict(project.training)
    rows = [("Dataset", str(data.get("dataset") or "none chosen yet"))]
    if data.get("dataset"):
        rows.append(("Target", str(data.get("target", "labels"))))
        rows.append(("Validation", f"{data.get('validation_split', 0.2):g}"))
    opt = training.get("optimizer") or {}
    if isinstance(opt, dict) and opt:
        extra = ", ".join(f"{k} {v}" for k, v in opt.items() if k != "type")
        rows.append(("Optimizer", f"{opt.get('type', '?')}" + (f" ({extra})" if extra else "")))
    for key, label in (("epochs", "Epochs"), ("batch_size", "Batch size"), ("seed", "Seed")):
        if key in training:
            rows.append((label, str(training[key])))
    return rows


def _fill(form: QFormLayout, rows: list[tuple[str, str]]) -> None:
    while form.rowCount():
        form.removeRow(0)
    for label, value in rows:
        v = QLabel(value)
        v.setWordWrap(True)
        v.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow(label, v)


class Inspector(QWidget):
    """Follows the document's selection: a node's page, a summary of several, or the project."""

    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_page = NodePage(doc)
        self.project_page = ProjectPage(doc)
        self.many = QLabel()
        self.many.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.many.setWordWrap(True)
        self.many.setMargin(10)
        self.stack = QStackedWidget()
        for page in (self.node_page, self.project_page, self.many):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        doc.selection_changed.connect(lambda _ids: self.refresh())
        doc.graph_changed.connect(self.refresh)
        doc.settings_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        ids = [i for i in self.doc.selection if self.doc.graph.has_node(i)]
        if len(ids) == 1:
            self.node_page.show_node(ids[0])
            self.stack.setCurrentIndex(0)
        elif ids:
            s = [stats.node_stats(self.doc.graph, self.doc.shapes, i) for i in ids]
            params = sum(x.params or 0 for x in s)
            self.many.setText(f"<b>{len(ids)} nodes selected</b><br>{', '.join(ids)}"
                              f"<br><br>Parameters: {stats.human(params)}")
            self.stack.setCurrentIndex(2)
        else:
            self.node_page.node_id = None
            self.project_page.refresh()
            self.stack.setCurrentIndex(1)
