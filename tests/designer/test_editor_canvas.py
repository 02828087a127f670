"""The canvas driven the way a person drives it: drops, port drags, clicks, keys, wheel."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QLineEdit, QSpinBox  # noqa: E402

from pathlib import Path  # noqa: E402

from compute import Graph, build_model, layer_class, load_project  # noqa: E402
from designer.editor import edits  # noqa: E402
from tests.designer.conftest import drag, drop_layer  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "projects" / "lenet_digits.netw"


def example_graph() -> Graph:
    """The graph of the LeNet example project, as the user should be able to draw it."""
    return load_project(EXAMPLE).graph


# (id, type, params) of the example's LeNet, in drawing order (it is one chain)
LENET = [(n, example_graph().node(n).type, example_graph().node(n).params)
         for n in example_graph().topological_order()]


def expected_lenet() -> Graph:
    return example_graph()


def structure(g: Graph) -> dict:
    """Ids, types, resolved params and edges: what the network is, wherever it was drawn
    (a param typed equal to its default is the same network as one left at the default)."""
    def config(n):
        params = layer_class(g.node(n).type).params
        return {p.name: None if g.node(n).config[p.name] is None
                else p.validate(g.node(n).config[p.name]) for p in params}

    return {"nodes": [(n, g.node(n).type, config(n)) for n in g.nodes],
            "edges": g.to_dict()["edges"]}


def port_pos(window, node_id: str, index: int) -> QPointF:
    return window.scene.nodes[node_id].port_pos(index)


def select(qtbot, window, node_id: str) -> None:
    item = window.scene.nodes[node_id]
    centre = item.mapToScene(item.boundingRect().center())
    qtbot.mouseClick(window.canvas.viewport(), Qt.LeftButton,
                     pos=window.canvas.mapFromScene(item.mapToScene(item.width / 2, 36)))
    assert window.document.selection == [node_id], centre


def type_into(qtbot, widget, text: str) -> None:
    line = widget.lineEdit() if isinstance(widget, QSpinBox) else widget
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(widget, Qt.Key_Return)


def set_field(qtbot, window, name: str, value) -> None:
    widget = window.inspector.node_page.fields[name].editor
    if isinstance(widget, QComboBox):
        widget.setCurrentIndex(widget.findText(value))
    else:
        type_into(qtbot, widget, str(value))


def build_lenet(qtbot, window) -> None:
    """Drop every layer, rename and edit in the inspector, wire port to port."""
    window.canvas.resetTransform()
    window.canvas.centerOn(QPointF(600, 150))
    for i, (node_id, type_name, params) in enumerate(LENET):
        x, y = 60 + (i % 5) * 290, 60 + (i // 5) * 220
        drop_layer(window, type_name, QPointF(x, y))
        new_id = window.document.selection[0]
        assert window.document.graph.node(new_id).type == type_name
        if new_id != node_id:
            select(qtbot, window, new_id)
            type_into(qtbot, window.inspector.node_page.id_edit, node_id)
        select(qtbot, window, node_id)
        for name, value in params.items():
            if name == "shape":
                value = ", ".join(map(str, value))
            set_field(qtbot, window, name, value)
    ids = [n for n, _, _ in LENET]
    for a, b in zip(ids, ids[1:]):
        drag(qtbot, window.canvas, port_pos(window, a, -1), port_pos(window, b, 0))


def test_build_lenet_by_hand_then_undo_and_redo_everything(qtbot, window):
    build_lenet(qtbot, window)
    doc = window.document
    assert structure(doc.graph) == structure(expected_lenet())
    assert not doc.shapes.errors
    assert doc.shapes.of("out") == (10,)
    build_model(doc.graph)      # the drawn network runs
    final = doc.graph.to_dict()
    stack = doc.undo_stack
    while stack.canUndo():
        stack.undo()
    assert doc.graph.to_dict() == {"nodes": [], "edges": []}
    assert not window.scene.nodes and not window.scene.edges
    while stack.canRedo():
        stack.redo()
    assert doc.graph.to_dict() == final
    assert set(window.scene.nodes) == set(doc.graph.nodes)
    assert len(window.scene.edges) == len(doc.graph.edges)


def small_graph(window) -> None:
    doc = window.document
    edits.add_node(doc, "Input", (0, 0), {"shape": [1, 8, 8]})
    edits.add_node(doc, "Conv2D", (260, 0), {"filters": 4})
    edits.add_node(doc, "Dense", (520, 0), {"units": 10})
    edits.add_node(doc, "Add", (520, 200))
    assert edits.connect(doc, "input", "conv1", 0) is None
    window.canvas.resetTransform()
    window.canvas.centerOn(QPointF(400, 100))


def test_refused_connections_leave_the_graph_unchanged_and_say_why(qtbot, window):
    small_graph(window)
    doc = window.document
    before = doc.graph.to_dict()
    steps = doc.undo_stack.count()
    # a cycle: conv1's output back into... conv1 is fed by input; wire conv1 -> input is
    # impossible (Input has no port), so make a real cycle through Add
    assert edits.connect(doc, "conv1", "add1", 0) is None
    before, steps = doc.graph.to_dict(), doc.undo_stack.count()
    drag(qtbot, window.canvas, port_pos(window, "add1", -1), port_pos(window, "conv1", 0))
    assert doc.graph.to_dict() == before and doc.undo_stack.count() == steps
    assert "cycle" in window.statusBar().currentMessage()
    # a shape mismatch: Dense cannot take (C, H, W)
    drag(qtbot, window.canvas, port_pos(window, "conv1", -1), port_pos(window, "dense1", 0))
    assert doc.graph.to_dict() == before and doc.undo_stack.count() == steps
    assert "Flatten" in window.statusBar().currentMessage()


def test_ports_highlight_while_dragging(qtbot, window):
    small_graph(window)
    vp = window.canvas.viewport()
    start = window.canvas.mapFromScene(port_pos(window, "conv1", -1))
    qtbot.mousePress(vp, Qt.LeftButton, pos=start)
    qtbot.mouseMove(vp, window.canvas.mapFromScene(port_pos(window, "dense1", 0)))
    nodes = window.scene.nodes
    assert nodes["add1"].inputs[0].state == "compatible"
    assert nodes["dense1"].inputs[0].state == "denied"      # refused, under the mouse
    assert "Flatten" in window.statusBar().currentMessage()
    qtbot.mouseMove(vp, window.canvas.mapFromScene(port_pos(window, "add1", 0)))
    assert "Release to connect conv1 → add1" in window.statusBar().currentMessage()
    assert nodes["dense1"].inputs[0].state == "refused"
    assert nodes["add1"].inputs[0].state == "hover"
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=window.canvas.mapFromScene(
        port_pos(window, "add1", 0)))
    assert window.document.graph.inputs_of("add1") == {0: "conv1"}
    assert all(p.state == "" for item in nodes.values() for p in item.inputs)
    # Add grows a new port once one is used
    assert len(nodes["add1"].inputs) == 2               # at least min_inputs
    assert edits.connect(window.document, "conv1", "add1", 1) is None
    assert len(nodes["add1"].inputs) == 3               # both used: a third appears


def test_dragging_an_edge_end_away_disconnects_it(qtbot, window):
    small_graph(window)
    doc = window.document
    end = port_pos(window, "conv1", 0)
    drag(qtbot, window.canvas, end, end + QPointF(-60, 140))
    assert doc.graph.inputs_of("conv1") == {}
    doc.undo_stack.undo()
    assert doc.graph.inputs_of("conv1") == {0: "input"}


def test_moves_by_mouse_and_keyboard_are_single_undo_steps(qtbot, window):
    small_graph(window)
    doc = window.document
    item = window.scene.nodes["dense1"]
    start = item.mapToScene(item.width / 2, 40)
    steps = doc.undo_stack.count()
    drag(qtbot, window.canvas, start, start + QPointF(83, 47), steps=8)
    assert doc.undo_stack.count() == steps + 1
    assert doc.graph.node("dense1").position == (600.0, 50.0)     # snapped to the grid
    for _ in range(5):
        qtbot.keyClick(window.canvas.viewport(), Qt.Key_Right)
    assert doc.undo_stack.count() == steps + 2          # five nudges merged into one
    assert doc.graph.node("dense1").position == (650.0, 50.0)
    doc.undo_stack.undo()
    assert doc.graph.node("dense1").position == (600.0, 50.0)
    doc.undo_stack.undo()
    assert doc.graph.node("dense1").position == (520.0, 0.0)
    assert window.scene.nodes["dense1"].pos() == QPointF(520, 0)


def test_rubber_band_and_modifier_selection_then_delete(qtbot, window):
    small_graph(window)
    doc = window.document
    drag(qtbot, window.canvas, QPointF(-40, -60), QPointF(450, 90))
    assert sorted(doc.selection) == ["conv1", "input"]
    item = window.scene.nodes["dense1"]
    qtbot.mouseClick(window.canvas.viewport(), Qt.LeftButton, Qt.ShiftModifier,
                     window.canvas.mapFromScene(item.mapToScene(item.width / 2, 36)))
    assert sorted(doc.selection) == ["conv1", "dense1", "input"]
    window.acts["delete"].trigger()
    assert doc.graph.nodes == ["add1"]
    doc.undo_stack.undo()
    assert doc.graph.nodes == ["input", "conv1", "dense1", "add1"]
    assert doc.graph.inputs_of("conv1") == {0: "input"}


def test_error_badge_and_edge_labels(qtbot, window):
    small_graph(window)
    doc = window.document
    # the document's mutator does not check shapes (a loaded file may be broken too)
    doc.connect("conv1", "dense1", 0)
    dense = window.scene.nodes["dense1"]
    assert dense.badge.isVisible()
    assert "Flatten" in dense.badge.toolTip()
    edge = window.scene.edges[("conv1", 0)]
    assert edge.label == "(1, 8, 8)" and edge.show_label
    window.acts["show_shapes"].setChecked(False)
    assert not edge.show_label
    assert not window.scene.nodes["conv1"].badge.isVisible()


def test_an_edges_label_sits_at_the_middle_of_its_curve_as_its_ends_move(qtbot, window):
    small_graph(window)
    edge = window.scene.edges[("conv1", 0)]

    def label_box():
        box = edge._label_box
        assert box is not None and edge.boundingRect().contains(box)
        return box
    first = label_box()
    assert first.center() == edge.path().pointAtPercent(0.5)
    window.scene.nodes["conv1"].setPos(QPointF(300, 160))      # dragged down and right
    moved = label_box()
    assert moved.center() == edge.path().pointAtPercent(0.5) and moved != first
    window.document.set_params("input", {"shape": [2, 8, 8]})    # a new shape to show
    assert edge.label == "(2, 8, 8)"
    assert label_box().width() == moved.width()                 # the same width of text
    window.acts["show_shapes"].setChecked(False)
    assert edge._label_box is None


def test_wheel_zooms_towards_the_cursor_and_fit_shows_everything(qtbot, window):
    small_graph(window)
    view = window.canvas
    target = window.scene.nodes["dense1"].mapToScene(20, 20)
    at = view.mapFromScene(target)
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    ev = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(0, 0),
                     QPoint(0, 240), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom() > 1.2
    after = view.mapToScene(at)
    assert abs(after.x() - target.x()) < 3 and abs(after.y() - target.y()) < 3
    window.acts["fit"].trigger()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in window.scene.nodes.values():
        assert visible.contains(item.sceneBoundingRect())


def test_overlay_api_tints_nodes_and_edges(qtbot, window):
    small_graph(window)
    scene = window.scene
    scene.set_node_overlay("conv1", QColor("#ff0000"), ["vanishing"], "grad norm 1e-7")
    scene.set_edge_overlay("input", "conv1", 0, QColor("#00ff00"))
    item = scene.nodes["conv1"]
    assert item.overlay_color == QColor("#ff0000") and item.overlay_badges == ["vanishing"]
    assert "grad norm" in item.toolTip()
    assert scene.edges[("conv1", 0)].overlay_color == QColor("#00ff00")
    window.document.undo_stack.undo()   # remove the edge, bring it back: the tint stays
    window.document.undo_stack.redo()
    assert scene.edges[("conv1", 0)].overlay_color == QColor("#00ff00")
    scene.set_node_overlay("conv1", None, [], "")
    scene.set_edge_overlay("input", "conv1", 0, None)
    assert scene.nodes["conv1"].overlay_color is None
    assert scene.edges[("conv1", 0)].overlay_color is None
    scene.select_node("dense1")
    assert window.document.selection == ["dense1"]
    assert window.inspector.node_page.node_id == "dense1"


def test_an_unchanged_tint_draws_nothing_again(qtbot, window, monkeypatch):
    """The overlay sets every node's tint five times a second; only a change repaints
    (a canvas of two dozen nodes took 40-55 ms to draw), and a new tint repaints only
    the node's glow, an item of its own: the node stays drawn from its cache. The
    tooltip still follows."""
    small_graph(window)
    scene = window.scene
    node, edge = scene.nodes["conv1"], scene.edges[("conv1", 0)]
    assert node.cacheMode() == QGraphicsItem.DeviceCoordinateCache
    drawn = []
    monkeypatch.setattr(node, "update", lambda *a: drawn.append("node"))
    monkeypatch.setattr(node.glow, "update", lambda *a: drawn.append("glow"))
    monkeypatch.setattr(edge, "update", lambda *a: drawn.append("edge"))
    scene.set_node_overlay("conv1", QColor("#ff0000"), [], "grad norm 1e-3")
    scene.set_edge_overlay("input", "conv1", 0, QColor("#00ff00"))
    assert drawn == ["glow", "edge"]
    assert node.glow.isVisible() and node.glow.color == QColor("#ff0000")
    scene.set_node_overlay("conv1", QColor("#ff0000"), [], "grad norm 1.1e-3")
    scene.set_edge_overlay("input", "conv1", 0, QColor("#00ff00"))
    assert drawn == ["glow", "edge"] and "1.1e-3" in node.toolTip()
    scene.set_node_overlay("conv1", QColor("#0000ff"), ["vanishing"], "grad norm 1e-9")
    assert drawn == ["glow", "edge", "glow", "node"]        # a badge is the node's
    scene.set_node_overlay("conv1", None, [], "")
    scene.set_edge_overlay("input", "conv1", 0, None)
    assert drawn[4:] == ["glow", "node", "edge"] and not node.glow.isVisible()


def test_the_glow_follows_the_node_and_is_drawn_behind_it(qtbot, window):
    small_graph(window)
    node = window.scene.nodes["conv1"]
    window.scene.set_node_overlay("conv1", QColor("#ff0000"), [], "")
    assert node.glow.flags() & QGraphicsItem.ItemStacksBehindParent
    assert node.glow.boundingRect().contains(QRectF(0, 0, node.width, node.height))
    node.view.summary += " and a much longer summary than before"
    node.apply(node.view)
    assert node.glow.boundingRect().width() == node.width + 12


def test_a_tint_changes_only_when_the_norm_moves_two_levels():
    """Batch noise moved half the nodes' norms across a level between two diagnostic
    steps: each was a repaint and a flicker."""
    from designer.training.overlay import LEVELS, steady

    level = 1 / LEVELS
    assert steady(None, 10 * level) == 10 * level
    assert steady(10 * level, 11 * level) == 10 * level        # one level: kept
    assert steady(10 * level, 9 * level) == 10 * level
    assert steady(10 * level, 12 * level) == 12 * level        # two: followed
    assert steady(10 * level, 8 * level) == 8 * level
    assert steady(10 * level, None) is None


def test_the_gradient_scale_has_steps_so_a_small_change_keeps_the_colour():
    from designer.training.overlay import LEVELS, LogScale

    scale = LogScale()
    scale.update([1e-3, 2e-3])
    steps = {scale.position(1e-3 * (1 + i / 1000)) for i in range(20)}   # within 2 %
    assert len(steps) <= 2
    assert all(abs(p * LEVELS - round(p * LEVELS)) < 1e-9 for p in steps)
    assert scale.position(1e-5) < scale.position(1e-3) < scale.position(1e-1)


def test_palette_search_and_double_click_add(qtbot, window):
    pal = window.palette
    qtbot.keyClicks(pal.search, "pool")
    assert set(pal.visible_types()) >= {"MaxPool2D", "AvgPool2D"}
    assert "Dense" not in pal.visible_types()
    pal.search.clear()
    assert "Dense" in pal.visible_types()
    item = pal.items["Dense"]
    rect = pal.tree.visualItemRect(item)
    qtbot.mouseClick(pal.tree.viewport(), Qt.LeftButton, pos=rect.center())   # a real
    qtbot.mouseDClick(pal.tree.viewport(), Qt.LeftButton, pos=rect.center())  # double click
    assert [window.document.graph.node(n).type for n in window.document.graph.nodes] == ["Dense"]
    window.add_layer("Dense")
    a, b = (QRectF(i.pos(), QSizeF(i.width, i.height)) for i in window.scene.nodes.values())
    assert not a.intersects(b)          # the second lands in a free spot


def test_a_line_edit_in_the_inspector_keeps_its_keys(qtbot, window):
    small_graph(window)
    select(qtbot, window, "conv1")
    edit = window.inspector.node_page.id_edit
    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key_End)
    qtbot.keyClick(edit, Qt.Key_Backspace)   # edits text; must not delete the node
    assert window.document.graph.has_node("conv1")


def test_middle_button_and_space_drag_pan_the_view(qtbot, window):
    small_graph(window)
    view, vp = window.canvas, window.canvas.viewport()
    before = view.mapToScene(vp.rect().center())
    qtbot.mousePress(vp, Qt.MiddleButton, pos=vp.rect().center())
    qtbot.mouseMove(vp, vp.rect().center() + QPoint(-120, -40))
    qtbot.mouseRelease(vp, Qt.MiddleButton, pos=vp.rect().center() + QPoint(-120, -40))
    moved = view.mapToScene(vp.rect().center()) - before
    assert abs(moved.x() - 120) < 2 and abs(moved.y() - 40) < 2
    steps, selected = window.document.undo_stack.count(), window.document.selection
    qtbot.keyPress(view, Qt.Key_Space)
    centre = view.mapToScene(vp.rect().center())
    vp_press = vp.rect().center()
    qtbot.mousePress(vp, Qt.LeftButton, pos=vp_press)
    qtbot.mouseMove(vp, vp_press + QPoint(50, 0))
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=vp_press + QPoint(50, 0))
    qtbot.keyRelease(view, Qt.Key_Space)
    assert abs((view.mapToScene(vp.rect().center()) - centre).x() + 50) < 2
    assert window.document.undo_stack.count() == steps     # panning is not an edit
    assert window.document.selection == selected          # nor a click on the canvas
