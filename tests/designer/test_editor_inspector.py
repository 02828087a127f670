"""The inspector: fields bound both ways, refusals at the field, numbers, unrolled view."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox,  # noqa: E402
                               QFormLayout, QLineEdit, QSpinBox, QWidget)

from compute.params import Param  # noqa: E402
from designer.editor import edits  # noqa: E402
from designer.editor.fields import Field, format_value, parse_text  # noqa: E402


def enter(qtbot, widget, text: str) -> None:
    line = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(widget, Qt.Key_Return)


@pytest.fixture
def host(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    return w


@pytest.mark.parametrize("param, widget_type, shown, typed, committed", [
    (Param("units", "int", 16, "h", min=1, max=100), QSpinBox, 16, "42", 42),
    (Param("rate", "float", 0.5, "h", min=0.0, max=1.0), QDoubleSpinBox, 0.5, "0.25", 0.25),
    (Param("shape", "shape", (2,), "h"), QLineEdit, (1, 8, 8), "3, 4", [3, 4]),
    (Param("k", "size", 3, "h", min=1), QLineEdit, (3, 3), "3x5", [3, 5]),
    (Param("p", "padding", "valid", "h", min=0, choices=("valid", "same")), QLineEdit,
     "valid", "same", "same"),
    (Param("a", "optional_float", None, "h", min=0.0), QLineEdit, None, "0.2", 0.2),
])
def test_fields_bind_both_ways(qtbot, host, param, widget_type, shown, typed, committed):
    field = Field(param, host)
    assert isinstance(field.editor, widget_type)
    got = []
    field.committed.connect(got.append)
    field.set_value(shown)              # model -> widget emits nothing
    assert got == []
    host.show()
    enter(qtbot, field.editor, typed)   # widget -> model
    assert got == [committed]
    assert param.help in field.editor.toolTip()


def test_choice_and_bool_fields(qtbot, host):
    choice = Field(Param("act", "choice", "relu", "h", choices=("relu", "tanh")), host)
    flag = Field(Param("bias", "bool", True, "h"), host)
    assert isinstance(choice.editor, QComboBox) and isinstance(flag.editor, QCheckBox)
    got = []
    choice.committed.connect(got.append)
    flag.committed.connect(got.append)
    choice.set_value("tanh")
    flag.set_value(False)
    assert got == [] and choice.editor.currentText() == "tanh" and not flag.editor.isChecked()
    host.show()
    choice.editor.setCurrentIndex(0)
    qtbot.mouseClick(flag.editor, Qt.LeftButton)
    assert got == ["relu", True]


def test_text_fields_refuse_bad_values_with_a_reason(qtbot, host):
    field = Field(Param("shape", "shape", (2,), "h"), host)
    host.show()
    got = []
    field.committed.connect(got.append)
    field.set_value((1, 8, 8))
    for text, reason in (("1, 0, 8", "positive"), ("one", "whole numbers"), ("-1", "positive")):
        enter(qtbot, field.editor, text)
        assert got == []
        assert reason in field.error.text() and field.error.isVisible()
        assert field.editor.text() == text          # the typed text stays to be fixed
    field.set_value((2, 2))                         # the model speaks: the error goes
    assert not field.error.isVisible() and field.editor.text() == "2, 2"


def test_parse_and_format_round_trip():
    size = Param("k", "size", 3, "h", min=1)
    assert parse_text(size, "3") == 3 and format_value(size, (3, 3)) == "3"
    assert parse_text(size, "[2, 3]") == [2, 3] and format_value(size, (2, 3)) == "2, 3"
    opt = Param("s", "optional_int", None, "h", min=1)
    assert parse_text(opt, "") is None and format_value(opt, None) == ""
    with pytest.raises(ValueError, match="whole number"):
        parse_text(opt, "1.5")


def select(window, node_id):
    window.document.select(node_id)
    return window.inspector.node_page


def test_inspector_edits_go_through_undo_and_follow_undo(qtbot, window):
    doc = window.document
    edits.add_node(doc, "Input", (0, 0), {"shape": [1, 8, 8]})
    edits.add_node(doc, "Conv2D", (250, 0))
    edits.connect(doc, "input", "conv1", 0)
    page = select(window, "conv1")
    qtbot.waitUntil(lambda: page.fields["filters"].editor.isVisible())
    enter(qtbot, page.fields["filters"].editor, "8")
    assert doc.graph.node("conv1").params == {"filters": 8}
    enter(qtbot, page.fields["kernel_size"].editor, "5")
    assert doc.graph.node("conv1").params == {"filters": 8, "kernel_size": 5}
    assert doc.shapes.of("conv1") == (8, 4, 4)
    assert page.out_shape.text() == "(8, 4, 4)"
    doc.undo_stack.undo()
    assert page.fields["kernel_size"].editor.text() == "3"   # the form follows undo
    assert page.fields["filters"].editor.value() == 8


def test_inspector_refuses_a_bad_value_at_the_field(qtbot, window):
    doc = window.document
    edits.add_node(doc, "Input", (0, 0), {"shape": [1, 8, 8]})
    page = select(window, "input")
    qtbot.waitUntil(lambda: page.fields["shape"].editor.isVisible())
    before, steps = doc.graph.to_dict(), doc.undo_stack.count()
    enter(qtbot, page.fields["shape"].editor, "1, -8, 8")
    assert doc.graph.to_dict() == before and doc.undo_stack.count() == steps
    error = page.fields["shape"].error
    assert error.isVisible() and "positive" in error.text()
    enter(qtbot, page.id_edit, "two words")
    assert doc.graph.has_node("input") and page.id_error.isVisible()
    assert "invalid node id" in page.id_error.text()


def test_numbers_for_a_node_and_the_network(qtbot, window):
    doc = window.document
    edits.add_node(doc, "Input", (0, 0), {"shape": [1, 8, 8]})
    edits.add_node(doc, "Conv2D", (250, 0), {"filters": 6, "kernel_size": 3, "padding": "same"})
    edits.add_node(doc, "Flatten", (500, 0))
    edits.add_node(doc, "Dense", (750, 0), {"units": 10})
    doc.graph  # chain them
    for a, b in (("input", "conv1"), ("conv1", "flatten1"), ("flatten1", "dense1")):
        edits.connect(doc, a, b, 0)
    page = select(window, "conv1")
    assert page.n_params.text() == f"{6 * 1 * 3 * 3 + 6:,}"
    assert page.n_macs.text() == f"{6 * 8 * 8 * 9:,} per sample"
    assert "W: (6, 1, 3, 3)" in page.n_params.toolTip()
    page = select(window, "dense1")
    assert page.n_params.text() == f"{384 * 10 + 10:,}"
    assert page.network.text().startswith(f"{60 + 3850:,} parameters")
    doc.select(None)
    totals = window.inspector.project_page.totals
    field = QFormLayout.ItemRole.FieldRole
    texts = [totals.itemAt(i, field).widget().text() for i in range(totals.rowCount())]
    assert f"{60 + 3850:,}" in texts
    problems = window.inspector.project_page.problems
    assert "Output" in problems.item(0).text()


def test_recurrent_nodes_show_the_unrolled_view(qtbot, window):
    doc = window.document
    edits.add_node(doc, "LSTM", (0, 0), {"units": 8, "return_sequences": True})
    edits.add_node(doc, "Dense", (300, 0))
    page = select(window, "lstm1")
    qtbot.waitUntil(lambda: page.unrolled.isVisible())
    assert page.unrolled.type_name == "LSTM" and page.unrolled.sequences
    pixmap = page.unrolled.grab()
    assert pixmap.width() > 100
    page = select(window, "dense1")
    assert not page.unrolled.isVisible()


def test_project_page_when_nothing_is_selected(qtbot, window):
    doc = window.document
    doc.set_section("data", {"dataset": "digits"}, "Choose digits")
    doc.set_section("training", {"epochs": 7}, "Set epochs")
    doc.select(None)
    page = window.inspector.project_page
    assert window.inspector.stack.currentIndex() == 1
    form = page.settings
    label, field = QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole
    rows = {form.itemAt(i, label).widget().text(): form.itemAt(i, field).widget().text()
            for i in range(form.rowCount())}
    assert rows["Dataset"] == "digits" and rows["Epochs"] == "7"
    page.show()
    enter(qtbot, page.name_edit, "My net")
    assert doc.project.name == "My net"
    assert window.windowTitle().startswith("My net*")
    doc.undo_stack.undo()
    assert doc.project.name == "Untitled" and page.name_edit.text() == "Untitled"
