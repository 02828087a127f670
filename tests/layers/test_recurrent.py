"""SimpleRNN, LSTM and GRU: the harness, NumPy references written from DESIGN.md's
formulas, the shape rule's message, initialisation, and learning a task that needs memory."""
import numpy as np
import pytest

import compute
from compute.layers import layer_class
from tests.harness import Case, build, numeric_grad, rel_error, run, run_layer_test

CASES = [
    Case("SimpleRNN", {"units": 3}, [(4, 2)]),
    Case("SimpleRNN", {"units": 3, "return_sequences": True}, [(4, 2)]),
    Case("SimpleRNN", {"units": 2, "use_bias": False}, [(3, 3)]),
    Case("SimpleRNN", {"units": 3, "return_sequences": True}, [(1, 2)]),
    Case("LSTM", {"units": 3}, [(4, 2)]),
    Case("LSTM", {"units": 3, "return_sequences": True}, [(4, 2)]),
    Case("LSTM", {"units": 2, "use_bias": False, "return_sequences": True}, [(3, 3)]),
    Case("LSTM", {"units": 2}, [(1, 3)]),
    Case("GRU", {"units": 3}, [(4, 2)]),
    Case("GRU", {"units": 3, "return_sequences": True}, [(4, 2)]),
    Case("GRU", {"units": 3, "reset_gate": False}, [(4, 2)]),
    Case("GRU", {"units": 2, "reset_gate": False, "return_sequences": True}, [(3, 3)]),
    Case("GRU", {"units": 2, "use_bias": False}, [(3, 2)]),
    Case("GRU", {"units": 3}, [(1, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


# -- NumPy references, step by step from the formulas ------------------------------------
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference(type_name, cfg, p, x):
    """Every step's hidden state (N, T, H), written from DESIGN.md's formulas."""
    n, t, _ = x.shape
    hsize = cfg["units"]
    b = p.get("b", np.zeros(p["Wx"].shape[1]))
    h, c, out = np.zeros((n, hsize)), np.zeros((n, hsize)), []
    for s in range(t):
        xs = x[:, s]
        if type_name == "SimpleRNN":
            h = np.tanh(xs @ p["Wx"] + h @ p["Wh"] + b)
        elif type_name == "LSTM":
            z = xs @ p["Wx"] + h @ p["Wh"] + b
            i, f, g, o = np.split(z, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:
            wxr, wxu, wxc = np.split(p["Wx"], 3, axis=1)
            whr, whu, whc = np.split(p["Wh"], 3, axis=1)
            br, bu, bc = np.split(b, 3)
            r = sigmoid(xs @ wxr + h @ whr + br) if cfg.get("reset_gate", True) else 1.0
            u = sigmoid(xs @ wxu + h @ whu + bu)
            cand = np.tanh(xs @ wxc + (r * h) @ whc + bc)
            h = u * cand + (1 - u) * h
        out.append(h)
    return np.stack(out, axis=1)


REFERENCE_CASES = [
    Case("SimpleRNN", {"units": 4, "return_sequences": True}, [(6, 3)], batch=5),
    Case("LSTM", {"units": 4, "return_sequences": True}, [(6, 3)], batch=5),
    Case("GRU", {"units": 4, "return_sequences": True}, [(6, 3)], batch=5),
    Case("GRU", {"units": 4, "return_sequences": True, "reset_gate": False}, [(6, 3)], batch=5),
    Case("LSTM", {"units": 5, "use_bias": False}, [(7, 2)], batch=4),
    Case("GRU", {"units": 5}, [(7, 2)], batch=4),
]


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=str)
def test_forward_matches_reference(case):
    layer, p, (x,) = build(case)
    y = run(layer, p, [x], False)
    ref = reference(case.type_name, layer.cfg, p, x)
    ref = ref if layer.cfg["return_sequences"] else ref[:, -1]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=str)
def test_float32_stays_close_to_float64(case):
    """float32 uses a fast tanh approximation; it must stay within float32 accuracy."""
    layer, p, (x,) = build(case)
    y64 = run(layer, p, [x], False)
    l32, p32, (x32,) = build(case, dtype=np.float32)
    y32 = run(l32, p32, [x32], False)
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=2e-6)
    d64 = layer.backward(p, np.ones_like(y64))
    d32 = l32.backward(p32, np.ones_like(y32))
    np.testing.assert_allclose(d32[0][0], d64[0][0], rtol=1e-4, atol=1e-5)
    for name in p:
        np.testing.assert_allclose(d32[1][name], d64[1][name], rtol=1e-4, atol=1e-5)


def test_gru_without_reset_gate_ignores_r_weights():
    case = Case("GRU", {"units": 3, "reset_gate": False, "return_sequences": True}, [(5, 2)])
    layer, p, (x,) = build(case)
    y = run(layer, p, [x], False)
    p2 = {k: v.copy() for k, v in p.items()}
    for name in ("Wx", "Wh"):
        p2[name][:, :3] += 5.0
    p2["b"][:3] -= 5.0
    np.testing.assert_array_equal(run(layer, p2, [x], False), y)
    _, grads = layer.backward(p2, np.ones_like(y))
    for name in ("Wx", "Wh", "b"):
        assert not np.any(grads[name][..., :3]), name
        assert np.any(grads[name][..., 3:]), name


@pytest.mark.parametrize("type_name", ["SimpleRNN", "LSTM", "GRU"])
def test_whole_layer_gradient_in_a_model(type_name):
    """Loss and gradients of a built model (Input -> recurrent -> Dense -> mse) against
    central differences of the loss itself."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[5, 2])
    g.add_node("rnn", type_name, units=3, return_sequences=True)
    g.add_node("fc", "Dense", units=2)
    g.add_node("out", "Output", loss="mse")
    g.chain("x", "rnn", "fc", "out")
    model = compute.build_model(g, seed=3, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5, 2))
    target = rng.normal(size=(4, 5, 2))
    _, grads = model.loss_and_grads(x, target)
    for name, w in model.params["rnn"].items():
        num = numeric_grad(lambda: model.loss_and_grads(x, target)[0], w)
        assert rel_error(grads["rnn"][name], num) < 1e-6, name


# -- shapes, summary, cost ----------------------------------------------------------------
@pytest.mark.parametrize("type_name", ["SimpleRNN", "LSTM", "GRU"])
def test_flat_input_asks_for_a_reshape(type_name):
    g = compute.Graph()
    g.add_node("x", "Input", shape=[64])
    g.add_node("rec", type_name, units=8)
    g.add_node("out", "Output", loss="mse")
    g.chain("x", "rec", "out")
    err = g.infer_shapes().errors["rec"]
    assert f'"rec" ({type_name}) needs a sequence (T, F) but "x" gives (64)' in err
    assert "insert a Reshape between x and rec" in err
    with pytest.raises(compute.GraphError, match="insert a Reshape between x and rec"):
        compute.build_model(g)


def test_shapes_for_both_modes():
    g = compute.Graph()
    g.add_node("x", "Input", shape=[7, 3])
    g.add_node("seq", "LSTM", units=5, return_sequences=True)
    g.add_node("last", "GRU", units=4)
    g.chain("x", "seq", "last")
    shapes = g.infer_shapes()
    assert shapes.of("seq") == (7, 5)
    assert shapes.of("last") == (4,)


def test_summary_and_macs():
    lstm = layer_class("LSTM")
    assert lstm.summary(lstm.config({"units": 128, "return_sequences": True})) == "LSTM 128 seq"
    gru = layer_class("GRU")
    assert gru.summary(gru.config({"units": 8, "reset_gate": False})) == "GRU 8 no-reset"
    rnn = layer_class("SimpleRNN")
    assert rnn.summary(rnn.config({"units": 16})) == "SimpleRNN 16"
    layer = lstm("l", lstm.config({"units": 128}), [(50, 32)])
    assert layer.macs() == 50 * (32 + 128) * 4 * 128


def test_params_have_design_shapes_and_penalties():
    for type_name, gates in (("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)):
        cls = layer_class(type_name)
        layer = cls("r", cls.config({"units": 6}), [(9, 5)])
        assert layer.param_shapes() == {"Wx": (5, 6 * gates), "Wh": (6, 6 * gates),
                                         "b": (6 * gates,)}
        assert cls.family == "Recurrent" and cls.penalized == ("Wx", "Wh")
        assert {"l1", "l2"} <= {p.name for p in cls.params}
        no_bias = cls("r", cls.config({"units": 6, "use_bias": False}), [(9, 5)])
        assert "b" not in no_bias.init_params(np.random.default_rng(0))


def test_initialisation():
    cls = layer_class("LSTM")
    layer = cls("l", cls.config({"units": 6}), [(4, 3)])
    p = layer.init_params(np.random.default_rng(0))
    for block in np.split(p["Wh"].astype(np.float64), 4, axis=1):
        np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)
    np.testing.assert_array_equal(p["b"], np.r_[np.zeros(6), np.ones(6), np.zeros(12)])
    again = layer.init_params(np.random.default_rng(0))
    np.testing.assert_array_equal(again["Wx"], p["Wx"])
    he = cls("l", cls.config({"units": 6, "recurrent_init": "zeros"}), [(4, 3)])
    assert not np.any(he.init_params(np.random.default_rng(0))["Wh"])


# -- learning -----------------------------------------------------------------------------
@pytest.mark.parametrize("type_name", ["LSTM", "GRU"])
def test_learns_to_recall_the_first_step(type_name):
    """The sign of step 0 must survive 7 steps of noise: only memory solves it."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[8, 1])
    g.add_node("rec", type_name, units=8)
    g.add_node("fc", "Dense", units=2)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("x", "rec", "fc", "out")
    model = compute.build_model(g, seed=0)
    rng = np.random.default_rng(0)

    def batch(n):
        x = rng.normal(0, 1, (n, 8, 1)).astype(np.float32)
        return x, (x[:, 0, 0] > 0).astype(np.int64)

    params = model.parameters()
    m = [np.zeros_like(w) for _, _, w in params]
    v = [np.zeros_like(w) for _, _, w in params]
    for step in range(1, 301):                     # Adam, written out: no optimizer needed
        x, y = batch(32)
        _, grads = model.loss_and_grads(x, y)
        for i, g_ in enumerate(model.flat_grads(grads, params)):
            m[i] = 0.9 * m[i] + 0.1 * g_
            v[i] = 0.999 * v[i] + 0.001 * g_ * g_
            mh, vh = m[i] / (1 - 0.9 ** step), v[i] / (1 - 0.999 ** step)
            params[i][2][...] -= 0.02 * mh / (np.sqrt(vh) + 1e-8)
    x, y = batch(500)
    accuracy = np.mean(model.forward(x).argmax(axis=1) == y)
    assert accuracy > 0.95
