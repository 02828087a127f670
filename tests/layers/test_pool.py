import numpy as np
import pytest

import compute
from compute.layers.pool import AvgPool2D, MaxPool2D, Upsample2D
from tests.harness import Case, build, run, run_layer_test

CASES = [
    Case("MaxPool2D", {}, [(2, 4, 5)]),
    Case("MaxPool2D", {"pool_size": 3, "stride": 2, "padding": 1}, [(2, 5, 5)]),
    Case("MaxPool2D", {"pool_size": [2, 3], "stride": 1}, [(1, 4, 5)]),
    Case("MaxPool2D", {"pool_size": 2, "padding": "same"}, [(2, 5, 3)]),
    Case("MaxPool2D", {"pool_size": 3, "stride": 2, "padding": "same"}, [(1, 6, 5)]),
    Case("AvgPool2D", {}, [(2, 4, 5)]),
    Case("AvgPool2D", {"pool_size": 3, "stride": 2, "padding": 1}, [(2, 5, 5)]),
    Case("AvgPool2D", {"pool_size": [3, 2], "stride": 1, "padding": "same"}, [(1, 4, 5)]),
    Case("AvgPool2D", {"pool_size": 2, "stride": 3}, [(2, 5, 7)]),
    Case("GlobalAvgPool2D", {}, [(3, 2, 4)]),
    Case("GlobalAvgPool2D", {}, [(2, 1, 1)]),
    Case("Upsample2D", {}, [(2, 3, 2)]),
    Case("Upsample2D", {"factor": [1, 3]}, [(2, 2, 3)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


def pool_reference(x, k, s, pads, reduce, fill):
    """Windows over an explicitly padded array; pads = (top, bottom, left, right)."""
    (kh, kw), (sh, sw), (t, b, l, r) = k, s, pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.empty(x.shape[:2] + (oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            y[:, :, oy, ox] = reduce(xp[:, :, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw],
                                     axis=(2, 3))
    return y


@pytest.mark.parametrize("params,shape,k,s,pads", [
    ({}, (2, 4, 5), (2, 2), (2, 2), (0, 0, 0, 0)),
    ({"pool_size": 3, "stride": 2, "padding": 1}, (2, 5, 6), (3, 3), (2, 2), (1, 1, 1, 1)),
    ({"pool_size": 2, "padding": "same"}, (1, 5, 3), (2, 2), (2, 2), (0, 1, 0, 1)),
    ({"pool_size": [3, 2], "stride": 1, "padding": "same"}, (1, 4, 5), (3, 2), (1, 1),
     (1, 1, 0, 1)),
])
def test_pools_match_numpy_reference(params, shape, k, s, pads):
    for name, reduce, fill in (("MaxPool2D", np.max, -np.inf), ("AvgPool2D", np.mean, 0.0)):
        layer, p, (x,) = build(Case(name, params, [shape]))
        np.testing.assert_allclose(run(layer, p, [x], False),
                                   pool_reference(x, k, s, pads, reduce, fill), rtol=1e-12)


def test_max_pool_sends_the_gradient_to_the_maximum_only():
    layer, p, (x,) = build(Case("MaxPool2D", {}, [(1, 2, 2)], batch=1))
    x[...] = [[[[1.0, 4.0], [3.0, -2.0]]]]
    y = run(layer, p, [x], True)
    assert y.item() == 4.0
    (dx,), _ = layer.backward(p, np.full_like(y, 2.5))
    np.testing.assert_array_equal(dx, [[[[0.0, 2.5], [0.0, 0.0]]]])


def test_max_pool_ties_choose_the_first_and_overlaps_accumulate():
    layer, p, _ = build(Case("MaxPool2D", {"pool_size": 2, "stride": 1}, [(1, 2, 3)], batch=1))
    x = np.array([[[[5.0, 5.0, 1.0], [0.0, 5.0, 2.0]]]])
    y = run(layer, p, [x], True)
    np.testing.assert_array_equal(y, [[[[5.0, 5.0]]]])
    (dx,), _ = layer.backward(p, np.ones_like(y))
    np.testing.assert_array_equal(dx, [[[[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_global_average_and_upsample_match_numpy():
    layer, p, (x,) = build(Case("GlobalAvgPool2D", {}, [(3, 4, 5)]))
    np.testing.assert_allclose(run(layer, p, [x], False), x.mean(axis=(2, 3)), rtol=1e-12)
    layer, p, (x,) = build(Case("Upsample2D", {"factor": [2, 3]}, [(2, 3, 4)]))
    np.testing.assert_array_equal(run(layer, p, [x], False),
                                  np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))


def test_stride_defaults_to_the_pool_size():
    cfg = MaxPool2D.config({"pool_size": [3, 2]})
    assert MaxPool2D.infer_shape(cfg, [(4, 9, 9)]) == (4, 3, 4)
    assert AvgPool2D.infer_shape(AvgPool2D.config({"stride": 1}), [(1, 5, 5)]) == (1, 4, 4)


def test_summaries():
    assert MaxPool2D.summary(MaxPool2D.config({})) == "MaxPool 2x2"
    assert AvgPool2D.summary(AvgPool2D.config({"pool_size": 3, "stride": 2, "padding": 1})) \
        == "AvgPool 3x3 s2 p1"
    assert MaxPool2D.summary(MaxPool2D.config({"padding": "same"})) == "MaxPool 2x2 same"
    assert Upsample2D.summary(Upsample2D.config({})) == "Upsample x2"
    assert Upsample2D.summary(Upsample2D.config({"factor": [2, 1]})) == "Upsample x2x1"


def shape_error(node_type, shape, **params):
    g = compute.Graph()
    g.add_node("x", "Input", shape=list(shape))
    g.add_node("p", node_type, **params)
    g.connect("x", "p")
    return g.infer_shapes().errors.get("p")


def test_shape_rules_explain_what_is_wrong():
    assert shape_error("MaxPool2D", (1, 4, 4), pool_size=2, padding=2) == (
        '"p" (MaxPool2D): padding 2 is more than half the 2x2 window, so some windows '
        'would hold only padding; use padding <= 1')
    assert shape_error("AvgPool2D", (1, 2, 5), pool_size=3) == (
        '"p" (AvgPool2D): the 3x3 window is larger than its 2x5 input; use a smaller window, '
        'more padding or padding "same"')
    for name in ("MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Upsample2D"):
        err = shape_error(name, (4, 5))
        assert err.startswith(f'"p" ({name}) needs images (C, H, W), but "x" gives (4, 5)')
        assert "insert a Reshape between x and p (e.g. to [1, 4, 5])" in err
    assert shape_error("MaxPool2D", (1, 2, 5), pool_size=3, padding="same") is None


def test_macs_count_window_work():
    layer, *_ = build(Case("AvgPool2D", {"pool_size": 2}, [(3, 4, 6)]))
    assert layer.macs() == 3 * 2 * 3 * 4
    layer, *_ = build(Case("GlobalAvgPool2D", {}, [(3, 4, 6)]))
    assert layer.macs() == 72
