import pytest

import compute
from compute import Graph, GraphError, ProjectError


def mlp() -> Graph:
    g = Graph()
    g.add_node("x", "Input", shape=[2], position=[0, 0])
    g.add_node("h", "Dense", units=8, activation="tanh")
    g.add_node("o", "Dense", units=2)
    g.add_node("out", "Output")
    g.chain("x", "h", "o", "out")
    return g


def test_shapes_flow_along_the_graph():
    s = mlp().infer_shapes()
    assert s.shapes == {"x": (2,), "h": (8,), "o": (2,), "out": (2,)}
    assert not s.errors and not s.pending


def test_round_trip_keeps_the_dict():
    g = mlp()
    assert Graph.from_dict(g.to_dict()).to_dict() == g.to_dict()


def test_missing_output_is_reported():
    g = mlp()
    g.remove_node("out")
    with pytest.raises(GraphError, match="no Output node"):
        compute.build_model(g)


def test_cycle_is_reported_with_its_nodes():
    g = Graph()
    g.add_node("x", "Input", shape=[3])
    g.add_node("a", "Add")
    g.add_node("d", "Dense", units=3)
    g.add_node("out", "Output", loss="mse")
    g.connect("x", "a")
    g.connect("d", "a")
    g.connect("a", "d")
    g.connect("d", "out")
    with pytest.raises(GraphError, match="cycle"):
        compute.build_model(g)
    assert "cycle" in g.infer_shapes().errors["a"]
    assert "cycle" in g.can_connect("d", "a", 2) or g.can_connect("d", "a", 2)


def test_can_connect_refuses_cycles_and_shape_mismatches():
    g = mlp()
    assert "already connected" in g.can_connect("o", "h")
    g.disconnect("h", 0)
    assert "cycle" in g.can_connect("o", "h")
    g2 = Graph()
    g2.add_node("a", "Input", shape=[3])
    g2.add_node("b", "Input", shape=[4])
    g2.add_node("s", "Add")
    g2.connect("a", "s")
    reason = g2.can_connect("b", "s")
    assert reason and "equal shapes" in reason
    assert g2.inputs_of("s") == {0: "a"}  # refused: nothing changed


def test_unconnected_port_and_unreachable_nodes_are_named():
    g = mlp()
    g.add_node("lonely", "Dense", units=3)
    assert "lonely" in {i.node for i in g.validate()}
    g.disconnect("o", 0)
    about_o = [i.message for i in g.validate() if i.node == "o"]
    assert '"o" has no input yet' in about_o


def test_bad_params_name_the_node_and_param():
    g = Graph()
    with pytest.raises(ProjectError, match='node "c": unknown param "filtres"'):
        g.add_node("c", "Dense", filtres=3)
    with pytest.raises(ProjectError, match="units must be >= 1"):
        g.add_node("d", "Dense", units=0)
    with pytest.raises(ProjectError, match="unknown layer type 'Dens'.*'Dense'"):
        g.add_node("e", "Dens")


def test_from_dict_locates_errors():
    bad = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                     {"id": "x", "type": "Dense", "params": {}}], "edges": []}
    with pytest.raises(ProjectError, match=r'nodes\[1\]: duplicate node id "x"'):
        Graph.from_dict(bad)
    bad = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}}],
           "edges": [{"source": "x", "target": "nowhere"}]}
    with pytest.raises(ProjectError, match=r'edges\[0\]: target "nowhere"'):
        Graph.from_dict(bad)


def test_rename_keeps_edges_and_order():
    g = mlp()
    g.rename_node("h", "hidden")
    assert g.nodes == ["x", "hidden", "o", "out"]
    assert g.inputs_of("o") == {0: "hidden"}


def test_same_source_may_feed_two_ports():
    g = Graph()
    g.add_node("x", "Input", shape=[3])
    g.add_node("s", "Add")
    g.add_node("out", "Output", loss="mse")
    g.connect("x", "s")
    g.connect("x", "s")
    g.connect("s", "out")
    m = compute.build_model(g)
    import numpy as np

    x = np.ones((2, 3), np.float32)
    assert np.allclose(m.forward(x), 2 * x)
    _, grads = m.loss_and_grads(x, np.zeros((2, 3)))
    assert grads == {}


def test_unique_id():
    g = mlp()
    assert g.unique_id("h") == "h_2"
    assert g.unique_id("new") == "new"


def test_shape_inference_scales_to_large_graphs():
    g = Graph()
    g.add_node("n0", "Input", shape=[16])
    for i in range(1, 200):
        g.add_node(f"n{i}", "Dense", units=16)
        g.connect(f"n{i - 1}", f"n{i}")
    s = g.infer_shapes()
    assert s.shapes["n199"] == (16,) and not s.errors
