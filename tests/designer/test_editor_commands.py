"""Commands, edits, fragments, templates and layout on a document alone: no view."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from compute import Graph, build_model  # noqa: E402
from compute.errors import ProjectError  # noqa: E402
from designer.document import Document  # noqa: E402
from designer.editor import clipboard, edits, fragments  # noqa: E402
from designer.editor.layout import auto_layout, columns  # noqa: E402
from designer.editor.templates import TEMPLATES  # noqa: E402


@pytest.fixture
def doc(qapp):
    d = Document()
    yield d
    d.close()


def chain(doc) -> None:
    edits.add_node(doc, "Input", (0, 0), {"shape": [4]})
    edits.add_node(doc, "Dense", (200, 0), {"units": 8, "activation": "relu"})
    edits.add_node(doc, "Dense", (400, 0), {"units": 3})
    edits.add_node(doc, "Output", (600, 0))
    for a, b in (("input", "dense1"), ("dense1", "dense2"), ("dense2", "output")):
        assert edits.connect(doc, a, b, 0) is None


def history(doc) -> list[dict]:
    """The graph after each step, then undo all and redo all must walk it exactly."""
    stack = doc.undo_stack
    states = []
    while stack.canUndo():
        states.append(doc.graph.to_dict())
        stack.undo()
    states.append(doc.graph.to_dict())
    return states[::-1]


def test_every_verb_undoes_and_redoes_exactly(doc):
    chain(doc)
    edits.set_param(doc, "dense1", "units", 12)
    edits.rename(doc, "dense2", "logits")
    edits.move(doc, {"input": (10, 20)})
    edits.delete(doc, ["dense1"])
    edits.paste(doc, fragments.extract(doc.graph, ["logits", "output"]))
    edits.auto_layout(doc)
    edits.insert_template(doc, "autoencoder", (0, 400))
    edits.rename_project(doc, "Renamed")
    doc.set_section("training", {"epochs": 3}, "Set epochs")
    forward = []
    stack = doc.undo_stack
    final = (doc.graph.to_dict(), doc.project.name, dict(doc.project.training))
    while stack.canUndo():
        forward.append(doc.graph.to_dict())
        stack.undo()
    assert doc.graph.to_dict() == {"nodes": [], "edges": []}
    assert doc.project.name == "Untitled" and doc.project.training == {}
    for expected in reversed(forward):
        stack.redo()
        assert doc.graph.to_dict() == expected
    assert (doc.graph.to_dict(), doc.project.name, dict(doc.project.training)) == final


def test_delete_and_undo_restores_node_order_and_edges(doc):
    chain(doc)
    before = doc.graph.to_dict()
    edits.delete(doc, ["dense1", "output"])
    assert doc.graph.nodes == ["input", "dense2"] and doc.graph.edges == []
    doc.undo_stack.undo()
    assert doc.graph.to_dict() == before
    assert doc.selection == ["dense1", "output"]


def test_connecting_an_occupied_port_replaces_its_edge_in_one_step(doc):
    chain(doc)
    g = doc.graph
    assert g.inputs_of("dense2") == {0: "dense1"}
    edits.add_node(doc, "Dense", (200, 200), {"units": 5})
    assert edits.connect(doc, "input", "dense3", 0) is None
    steps = doc.undo_stack.count()
    assert edits.connect(doc, "dense3", "dense2", 0) is None
    assert g.inputs_of("dense2") == {0: "dense3"}
    assert doc.undo_stack.count() == steps + 1
    doc.undo_stack.undo()
    assert g.inputs_of("dense2") == {0: "dense1"}


def test_refused_edits_change_nothing(doc):
    chain(doc)
    before, steps = doc.graph.to_dict(), doc.undo_stack.count()
    assert "cycle" in edits.connect(doc, "dense2", "dense1", 0)
    assert "Output" in edits.connect(doc, "output", "dense1", 0)
    assert "units" in edits.set_param(doc, "dense1", "units", 0)
    assert "invalid node id" in edits.rename(doc, "dense1", "bad id!")
    assert "already" in edits.rename(doc, "dense1", "dense2")
    assert edits.rename_project(doc, "  ") is not None
    assert doc.graph.to_dict() == before and doc.undo_stack.count() == steps


def test_moves_in_one_gesture_merge_and_others_do_not(doc):
    chain(doc)
    steps = doc.undo_stack.count()
    for x in (10, 20, 30):
        edits.move(doc, {"input": (x, 0)}, gesture=("nudge", frozenset({"input"})))
    assert doc.undo_stack.count() == steps + 1
    edits.move(doc, {"input": (40, 0)})
    edits.move(doc, {"input": (50, 0)})
    assert doc.undo_stack.count() == steps + 3
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph.node("input").position == (30.0, 0.0)
    doc.undo_stack.undo()
    assert doc.graph.node("input").position == (0.0, 0.0)


def test_pasted_ids_are_unique_and_internal_edges_follow(doc, qapp):
    chain(doc)
    frag = fragments.extract(doc.graph, ["dense1", "dense2"])
    clipboard.copy_fragment(frag)
    got = clipboard.clipboard_fragment()
    assert got == frag
    ids = edits.paste(doc, got)
    assert ids == ["dense1_2", "dense2_2"]
    assert doc.graph.inputs_of("dense2_2") == {0: "dense1_2"}
    assert doc.graph.node("dense1_2").position == (240.0, 40.0)
    again = edits.paste(doc, got)
    assert again == ["dense1_3", "dense2_3"]
    assert doc.selection == again


def test_clipboard_text_is_a_project_document_and_bad_text_is_refused(doc, qapp):
    from PySide6.QtGui import QGuiApplication

    chain(doc)
    clipboard.copy_fragment(fragments.extract(doc.graph, ["input", "dense1"]))
    text = QGuiApplication.clipboard().text()
    assert '"format": "netwright"' in text
    QGuiApplication.clipboard().setText(text)           # e.g. from a text editor
    assert clipboard.clipboard_fragment()["nodes"][1]["id"] == "dense1"
    QGuiApplication.clipboard().setText('{"nodes": [{"id": "a", "type": "Nope"}]}')
    with pytest.raises(ProjectError, match="Nope"):
        clipboard.clipboard_fragment()
    QGuiApplication.clipboard().setText("hello")
    assert clipboard.clipboard_fragment() is None


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_inserts_with_unique_ids_and_builds(doc, key):
    template = TEMPLATES[key]
    assert not template.missing_types()
    if template.example_input is not None:
        edits.add_node(doc, "Input", (0, 0), {"shape": list(template.example_input)})
        ids = edits.insert_template(doc, key, (250, 0), after="input")
    else:
        ids = edits.insert_template(doc, key, (0, 0))
    spec = template.build(template.example_input)
    if spec.exit is not None:       # a block: finish the network to build it
        exit_id = ids[[n["id"] for n in spec.nodes].index(spec.exit)]
        edits.add_node(doc, "Flatten", (1500, 0))
        edits.add_node(doc, "Dense", (1700, 0), {"units": 3})
        edits.add_node(doc, "Output", (1900, 0))
        for a, b in ((exit_id, "flatten1"), ("flatten1", "dense1"), ("dense1", "output")):
            assert edits.connect(doc, a, b, 0) is None
    assert not doc.graph.validate(), doc.graph.validate()
    build_model(doc.graph)
    # inserting it again gives fresh ids and leaves the first copy alone
    before = len(doc.graph)
    again = edits.insert_template(doc, key, (0, 900))
    assert len(doc.graph) == before + len(spec.nodes)
    assert not set(again) & set(ids)
    doc.undo_stack.undo()
    assert len(doc.graph) == before


def test_residual_block_takes_the_channels_of_what_feeds_it(doc):
    edits.add_node(doc, "Input", (0, 0), {"shape": [5, 6, 6]})
    edits.insert_template(doc, "residual", (250, 0), after="input")
    assert not doc.shapes.errors
    assert doc.shapes.of("res_relu") == (5, 6, 6)


def test_layout_puts_columns_left_to_right_without_overlap():
    g = Graph()
    g.add_node("x", "Input", shape=[1, 8, 8])
    for b in ("a", "b", "c"):
        g.add_node(b, "Conv2D", filters=2, padding="same")
        g.connect("x", b)
    g.add_node("cat", "Concat", axis=0)
    for port, b in enumerate(("a", "b", "c")):
        g.connect(b, "cat", port)
    g.add_node("late", "Input", shape=[6, 8, 8])   # a second input used only at the end
    g.add_node("sum", "Add")
    g.connect("cat", "sum", 0)
    g.connect("late", "sum", 1)
    cols = columns(g)
    assert cols[0] == ["x"] and set(cols[1]) == {"a", "b", "c"}
    assert cols[2] == ["cat", "late"] or cols[2] == ["late", "cat"]
    pos = auto_layout(g)
    assert pos["x"][0] < pos["a"][0] < pos["cat"][0] < pos["sum"][0]
    ys = sorted(pos[b][1] for b in ("a", "b", "c"))
    assert ys[1] - ys[0] >= 64 and ys[2] - ys[1] >= 64
    assert pos["a"][0] == pos["b"][0] == pos["c"][0]


def test_layout_of_a_chain_is_a_straight_line():
    g = Graph()
    g.add_node("x", "Input", shape=[2])
    g.add_node("h", "Dense", units=3)
    g.add_node("o", "Output")
    g.chain("x", "h", "o")
    pos = auto_layout(g)
    assert pos["x"][1] == pos["h"][1] == pos["o"][1]


def test_new_ids_read_well():
    g = Graph()
    assert fragments.new_node_id(g, "Conv2D") == "conv1"
    assert fragments.new_node_id(g, "Input") == "input"
    g.add_node("input", "Input", shape=[2])
    assert fragments.new_node_id(g, "Input") == "input_2"
    assert fragments.new_node_id(g, "MaxPool2D") == "maxpool1"
    assert fragments.new_node_id(g, "SimpleRNN") == "rnn1"
