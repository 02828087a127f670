import numpy as np
import pytest

import compute
from tests.harness import Case, build, run, run_layer_test

CASES = [
    Case("Dense", {"units": 4}, [(3,)]),
    Case("Dense", {"units": 3, "activation": "tanh"}, [(5,)]),
    Case("Dense", {"units": 2, "activation": "sigmoid", "use_bias": False}, [(4, 3)]),
    Case("Dense", {"units": 3, "activation": "softmax"}, [(4,)]),
    Case("Dense", {"units": 3, "activation": "elu"}, [(2, 4)]),
    Case("Dense", {"units": 3, "activation": "relu"}, [(4,)]),
    Case("Dense", {"units": 3, "activation": "leaky_relu"}, [(4,)]),
    Case("Dense", {"units": 3, "activation": "abs"}, [(4,)]),
    Case("Flatten", {}, [(2, 3, 4)]),
    Case("Reshape", {"shape": [2, 6]}, [(3, 4)]),
    Case("Activation", {"function": "prelu"}, [(2, 3)]),
    Case("Activation", {"function": "leaky_relu", "alpha": 0.2}, [(5,)]),
    Case("Activation", {"function": "softmax"}, [(2, 4)]),
    Case("Activation", {"function": "elu", "alpha": 0.5}, [(6,)]),
    Case("Activation", {"function": "tanh"}, [(6,)]),
    Case("Activation", {"function": "sigmoid"}, [(6,)]),
    Case("Add", {}, [(3,), (3,)]),
    Case("Add", {}, [(2, 2, 2), (2, 2, 2), (2, 2, 2)]),
    Case("Concat", {}, [(3,), (2,)]),
    Case("Concat", {"axis": 0}, [(2, 3, 3), (1, 3, 3), (3, 3, 3)]),
    Case("Output", {"loss": "mse"}, [(3,)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


def test_dense_matches_formula():
    case = Case("Dense", {"units": 3, "activation": "tanh"}, [(4,)])
    layer, p, (x,) = build(case)
    np.testing.assert_allclose(run(layer, p, [x], False), np.tanh(x @ p["W"] + p["b"]))


def test_dense_on_image_suggests_flatten():
    g = compute.Graph()
    g.add_node("img", "Input", shape=[1, 4, 4])
    g.add_node("fc1", "Dense", units=3)
    g.connect("img", "fc1")
    err = g.infer_shapes().errors["fc1"]
    assert "insert a Flatten between img and fc1" in err


def test_add_refuses_mismatched_shapes():
    g = compute.Graph()
    g.add_node("a", "Input", shape=[3])
    g.add_node("b", "Input", shape=[4])
    g.add_node("sum", "Add")
    g.connect("a", "sum")
    g.connect("b", "sum")
    assert "port 1 gets (4)" in g.infer_shapes().errors["sum"]


def test_concat_refuses_mismatched_other_axes():
    g = compute.Graph()
    g.add_node("a", "Input", shape=[2, 4, 4])
    g.add_node("b", "Input", shape=[2, 3, 4])
    g.add_node("cat", "Concat", axis=0)
    g.chain("a", "cat")
    g.connect("b", "cat")
    assert "port 1" in g.infer_shapes().errors["cat"]


def test_prelu_starts_at_quarter_slope():
    case = Case("Activation", {"function": "prelu"}, [(3,)])
    layer = build(case)[0]
    assert layer.init_params(np.random.default_rng(0))["alpha"][0] == pytest.approx(0.25)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_kernels_get_alpha_in_the_arrays_dtype(dtype, monkeypatch):
    """The layers pass alpha as the dense chains do (a scalar of the arrays' dtype), so
    each activation kernel compiles once per dtype, not once more for a Python float."""
    from compute import activations
    from compute.kernels import activations as k

    seen = []
    for name in ("forward", "backward"):
        real = getattr(k, name)
        monkeypatch.setattr(k, name, lambda *a, real=real: (seen.append(a), real(*a)))
    x = np.array([-2.0, 3.0], dtype)
    y = activations.forward("leaky_relu", x)
    dx = activations.backward("leaky_relu", None, y, np.ones_like(x))
    np.testing.assert_allclose(y, [-0.02, 3.0], rtol=1e-6)
    np.testing.assert_allclose(dx, [0.01, 1.0], rtol=1e-6)
    alphas = [seen[0][2], seen[1][4]]
    assert [type(a) for a in alphas] == [dtype, dtype]
