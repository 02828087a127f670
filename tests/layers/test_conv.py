import numpy as np
import pytest

import compute
from compute.layers import conv as conv_layers
from compute.layers.conv import Conv2D, Conv2DTranspose
from tests.harness import Case, build, run, run_layer_test

CASES = [
    Case("Conv2D", {"filters": 3, "kernel_size": 3}, [(2, 5, 5)]),
    Case("Conv2D", {"filters": 2, "kernel_size": [2, 3], "stride": 2, "padding": "same",
                    "activation": "tanh"}, [(2, 5, 6)]),
    Case("Conv2D", {"filters": 2, "kernel_size": 3, "stride": 2, "padding": 1,
                    "activation": "relu"}, [(1, 6, 6)], batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 4, "padding": "same", "use_bias": False},
         [(2, 4, 5)], batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 1}, [(3, 3, 3)]),
    Case("Conv2D", {"filters": 2, "kernel_size": [3, 2], "stride": [1, 2], "padding": 2,
                    "activation": "sigmoid"}, [(1, 4, 5)], batch=2),
    Case("Conv2D", {"filters": 1, "kernel_size": 5, "padding": "same",
                    "activation": "leaky_relu"}, [(1, 3, 3)], batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 3, "stride": 3, "padding": "same",
                    "activation": "elu"}, [(2, 7, 4)], batch=2),
    # 3x3 stride 1: the direct kernels (valid above; padding 1, 2 and "same" here)
    Case("Conv2D", {"filters": 3, "kernel_size": 3, "padding": 1, "activation": "relu"},
         [(2, 5, 6)], batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 3, "padding": 2, "use_bias": False},
         [(3, 4, 3)], batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same", "activation": "tanh"},
         [(1, 4, 7)]),
    # 5x5 stride 1 on outputs 16 wide: the direct kernels too
    Case("Conv2D", {"filters": 2, "kernel_size": 5, "padding": 2, "activation": "relu"},
         [(1, 3, 16)], batch=2),
    Case("Conv2D", {"filters": 3, "kernel_size": 5, "use_bias": False}, [(2, 6, 20)],
         batch=2),
    Case("Conv2D", {"filters": 2, "kernel_size": 5, "padding": 4, "activation": "tanh"},
         [(2, 2, 12)]),
    Case("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "stride": 2, "padding": 1},
         [(2, 3, 3)]),
    Case("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "stride": 2, "padding": "same",
                             "activation": "tanh"}, [(2, 3, 2)]),
    Case("Conv2DTranspose", {"filters": 3}, [(2, 2, 3)], batch=2),
    Case("Conv2DTranspose", {"filters": 2, "kernel_size": [3, 2], "stride": [1, 2],
                             "padding": "valid", "activation": "relu"}, [(1, 3, 3)]),
    Case("Conv2DTranspose", {"filters": 1, "kernel_size": 2, "stride": 3, "padding": "same",
                             "use_bias": False}, [(2, 2, 2)], batch=2),
    Case("Conv2DTranspose", {"filters": 2, "kernel_size": 4, "stride": 2, "padding": 1,
                             "activation": "sigmoid"}, [(1, 2, 3)], batch=2),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


def conv_reference(x, w, b, stride, pads):
    """Plain NumPy cross-correlation; pads = (top, bottom, left, right)."""
    (sh, sw), (t, bo, le, ri) = stride, pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, ri)))
    n, c, h, wd = xp.shape
    f, _, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    y = np.zeros((n, f, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            patch = xp[:, :, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
            y[:, :, oy, ox] = np.einsum("ncij,fcij->nf", patch, w)
    return y + (0 if b is None else b[None, :, None, None])


def transpose_reference(x, w, b, stride, crop, out_hw):
    """Scatter every input pixel times the kernel, then crop (top, left) to out_hw."""
    (sh, sw), (ph, pw), (oh, ow) = stride, crop, out_hw
    n, c, h, wd = x.shape
    _, f, kh, kw = w.shape
    full = np.zeros((n, f, (h - 1) * sh + kh + oh, (wd - 1) * sw + kw + ow))
    for iy in range(h):
        for ix in range(wd):
            full[:, :, iy * sh:iy * sh + kh, ix * sw:ix * sw + kw] += np.einsum(
                "nc,cfij->nfij", x[:, :, iy, ix], w)
    y = full[:, :, ph:ph + oh, pw:pw + ow]
    return y + (0 if b is None else b[None, :, None, None])


@pytest.mark.parametrize("params,shape,pads", [
    ({"kernel_size": 3}, (2, 5, 5), (0, 0, 0, 0)),
    ({"kernel_size": 4, "padding": "same"}, (2, 4, 5), (1, 2, 1, 2)),
    ({"kernel_size": [2, 3], "stride": 2, "padding": "same"}, (1, 5, 6), (0, 1, 0, 1)),
    ({"kernel_size": 3, "stride": [2, 1], "padding": 1}, (2, 6, 4), (1, 1, 1, 1)),
])
def test_conv2d_matches_numpy_reference(params, shape, pads):
    case = Case("Conv2D", {"filters": 3, **params}, [shape])
    layer, p, (x,) = build(case)
    stride = layer.geo[2:4]
    np.testing.assert_allclose(run(layer, p, [x], False),
                               conv_reference(x, p["W"], p["b"], stride, pads), rtol=1e-12)


@pytest.mark.parametrize("params,shape,crop", [
    ({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 3), (1, 1)),
    ({"kernel_size": 3, "stride": 2, "padding": "same"}, (2, 3, 2), (0, 0)),
    ({"kernel_size": 5, "stride": 2, "padding": "same"}, (1, 2, 3), (1, 1)),
    ({"kernel_size": [2, 3], "stride": [3, 1], "padding": "same"}, (1, 2, 2), (0, 1)),
])
def test_conv2d_transpose_matches_numpy_reference(params, shape, crop):
    case = Case("Conv2DTranspose", {"filters": 2, **params}, [shape])
    layer, p, (x,) = build(case)
    y = run(layer, p, [x], False)
    stride = layer.geo[2:4]
    np.testing.assert_allclose(y, transpose_reference(x, p["W"], p["b"], stride, crop,
                                                      y.shape[2:]), rtol=1e-12)


@pytest.mark.parametrize("h,k,s", [(3, 3, 2), (4, 2, 2), (3, 4, 2), (2, 2, 3), (3, 5, 1)])
def test_same_transpose_is_the_adjoint_of_same_conv(h, k, s):
    """<conv(x), y> = <x, convT(y)> with shared weights: the two layers are transposes."""
    rng = np.random.default_rng(0)
    big = (2, h * s, (h + 1) * s)
    conv = Conv2D("c", Conv2D.config({"filters": 3, "kernel_size": k, "stride": s,
                                      "padding": "same", "use_bias": False}), [big], np.float64)
    convt = Conv2DTranspose("t", Conv2DTranspose.config(
        {"filters": 2, "kernel_size": k, "stride": s, "padding": "same", "use_bias": False}),
        [conv.out_shape], np.float64)
    assert convt.out_shape == big
    w = {"W": rng.normal(size=(3, 2, k, k))}
    x = rng.normal(size=(2,) + big)
    y = rng.normal(size=(2,) + conv.out_shape)
    lhs = np.sum(conv.forward(w, [x], False) * y)
    assert lhs == pytest.approx(np.sum(x * convt.forward(w, [y], False)), rel=1e-10)


def test_buffers_follow_the_batch_size():
    case = Case("Conv2D", {"filters": 2, "kernel_size": 3, "padding": 1}, [(2, 4, 4)])
    layer, p, _ = build(case)
    rng = np.random.default_rng(1)
    for n in (4, 1, 4):
        x = rng.normal(size=(n, 2, 4, 4))
        ref = conv_reference(x, p["W"], p["b"], (1, 1), (1, 1, 1, 1))
        np.testing.assert_allclose(layer.forward(p, [x], True), ref, rtol=1e-12, atol=1e-12)
        dx, grads = layer.backward(p, np.ones_like(ref))
        assert dx[0].shape == x.shape


def test_input_gradient_can_be_skipped_for_data_inputs():
    case = Case("Conv2D", {"filters": 2, "kernel_size": 3}, [(1, 5, 5)])
    for name in ("Conv2D", "Conv2DTranspose"):
        case.type_name = name
        layer, p, (x,) = build(case)
        y = run(layer, p, [x], True)
        dxs, grads = layer.backward(p, np.ones_like(y))
        layer.needs_input_grad = False
        run(layer, p, [x], True)
        none, same = layer.backward(p, np.ones_like(y))
        assert none == [None]
        for k in grads:
            np.testing.assert_array_equal(same[k], grads[k])


def test_he_init_uses_the_receptive_field_as_fan_in():
    layer = Conv2D("c", Conv2D.config({"filters": 64, "kernel_size": 5}), [(8, 9, 9)])
    w = layer.init_params(np.random.default_rng(0))["W"]
    assert w.shape == (64, 8, 5, 5)
    assert w.std() == pytest.approx(np.sqrt(2 / (8 * 25)), rel=0.05)
    t = Conv2DTranspose("t", Conv2DTranspose.config({"filters": 8, "kernel_size": 4,
                                                     "stride": 2}), [(64, 3, 3)])
    w = t.init_params(np.random.default_rng(0))["W"]
    assert w.shape == (64, 8, 4, 4)
    assert w.std() == pytest.approx(np.sqrt(2 / (64 * 2 * 2)), rel=0.05)


def test_summary_and_macs():
    cfg = Conv2D.config({"filters": 16, "kernel_size": 3, "padding": "same"})
    assert Conv2D.summary(cfg) == "Conv 16@3x3 s1 same"
    cfg = Conv2D.config({"filters": 8, "kernel_size": [5, 3], "stride": [1, 2], "padding": 2,
                         "activation": "relu"})
    assert Conv2D.summary(cfg) == "Conv 8@5x3 s1x2 p2 relu"
    assert Conv2DTranspose.summary(Conv2DTranspose.config({"filters": 4})) == \
        "ConvT 4@2x2 s2 same"
    layer = Conv2D("c", Conv2D.config({"filters": 6, "kernel_size": 5}), [(1, 28, 28)])
    assert layer.macs() == 6 * 24 * 24 * 25
    t = Conv2DTranspose("t", Conv2DTranspose.config({"filters": 3}), [(4, 5, 5)])
    assert t.out_shape == (3, 10, 10)
    assert t.macs() == 4 * 25 * 3 * 4


def test_padding_param_accepts_valid_same_and_ints_only():
    assert Conv2D.config({"padding": 2})["padding"] == 2
    for bad in ("full", -1, 1.5):
        with pytest.raises(ValueError, match="padding"):
            Conv2D.config({"padding": bad})
    with pytest.raises(ValueError, match="activation"):
        Conv2D.config({"activation": "softmax"})


def flat_graph(conv_type="Conv2D", size=64, **params):
    g = compute.Graph()
    g.add_node("data", "Input", shape=[size])
    g.add_node("conv1", conv_type, **params)
    g.add_node("flat", "Flatten")
    g.add_node("fc", "Dense", units=2)
    g.add_node("out", "Output")
    g.chain("data", "conv1", "flat", "fc", "out")
    return g


def test_conv_on_flat_input_names_the_node_and_suggests_a_reshape():
    err = flat_graph().infer_shapes().errors["conv1"]
    assert err.startswith('"conv1" (Conv2D) needs images (C, H, W), but "data" gives (64)')
    assert "insert a Reshape between data and conv1 (e.g. to [1, 8, 8])" in err
    with pytest.raises(compute.GraphError, match='"conv1" \\(Conv2D\\) needs images'):
        compute.build_model(flat_graph())
    err = flat_graph("Conv2DTranspose", size=10).infer_shapes().errors["conv1"]
    assert "(Conv2DTranspose) needs images" in err and "e.g." not in err


def image_graph(node_type, shape, **params):
    g = compute.Graph()
    g.add_node("img", "Input", shape=list(shape))
    g.add_node("c", node_type, **params)
    g.connect("img", "c")
    return g


def test_kernel_larger_than_the_input_is_explained():
    err = image_graph("Conv2D", (1, 3, 3), kernel_size=5).infer_shapes().errors["c"]
    assert err == ('"c" (Conv2D): the 5x5 kernel is larger than its 3x3 input; use a smaller '
                   'kernel, more padding or padding "same"')
    err = image_graph("Conv2D", (1, 3, 3), kernel_size=6, padding=1).infer_shapes().errors["c"]
    assert "larger than its 3x3 input (padded: 5x5)" in err
    assert image_graph("Conv2D", (1, 3, 3), kernel_size=5, padding=1).infer_shapes().of("c") \
        == (16, 1, 1)
    assert image_graph("Conv2D", (1, 3, 3), kernel_size=5,
                       padding="same").infer_shapes().of("c") == (16, 3, 3)


def test_transpose_cropping_everything_is_explained():
    err = image_graph("Conv2DTranspose", (1, 1, 1), kernel_size=2,
                      padding=1).infer_shapes().errors["c"]
    assert '"c" (Conv2DTranspose): padding 1 crops the whole output' in err


@pytest.mark.parametrize("params,expected", [
    ({"kernel_size": 3, "stride": 2, "padding": 1}, (4, 7, 9)),     # (H-1)*2 - 2 + 3
    ({"kernel_size": 4, "stride": 2, "padding": 1}, (4, 8, 10)),
    ({"kernel_size": 3, "stride": 2, "padding": "same"}, (4, 8, 10)),
    ({"kernel_size": 3, "stride": 1, "padding": "valid"}, (4, 6, 7)),
])
def test_transpose_output_sizes(params, expected):
    g = image_graph("Conv2DTranspose", (2, 4, 5), filters=4, **params)
    assert g.infer_shapes().of("c") == expected


def test_small_cnn_trains_through_the_model():
    g = compute.Graph()
    g.add_node("img", "Input", shape=[1, 8, 8])
    g.add_node("conv", "Conv2D", filters=4, kernel_size=3, padding="same", activation="relu")
    g.add_node("pool", "MaxPool2D")
    g.add_node("up", "Conv2DTranspose", filters=2, activation="tanh")
    g.add_node("gap", "GlobalAvgPool2D")
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("img", "conv", "pool", "up", "gap", "out")
    model = compute.build_model(g, seed=0, dtype=np.float64)
    assert model.output_shapes["up"] == (2, 8, 8)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(5, 1, 8, 8)), rng.integers(0, 2, 5)
    loss, grads = model.loss_and_grads(x, t)
    w = model.params["conv"]["W"]
    i = (1, 0, 1, 2)
    old = w[i]
    w[i] = old + 1e-6
    up = model.loss_and_grads(x, t)[0]
    w[i] = old - 1e-6
    down = model.loss_and_grads(x, t)[0]
    w[i] = old
    assert grads["conv"]["W"][i] == pytest.approx((up - down) / 2e-6, rel=1e-5)


def test_the_direct_path_is_chosen_by_shape():
    """3x3 stride-1 windows, and 5x5 ones on outputs at least 16 wide, on up to
    DIRECT_MAX_CHANNELS channels run the direct kernels; other windows, strides, narrow
    5x5 outputs and wide layers lower to im2col + GEMM."""
    def direct(c, width=12, **params):
        cfg = Conv2D.config({"filters": 16, "kernel_size": 3, **params})
        return Conv2D("c", cfg, [(c, 12, width)]).direct
    top = conv_layers.DIRECT_MAX_CHANNELS
    assert direct(1) and direct(16, padding=1) and direct(top, padding="same")
    assert direct(3, padding=2) and not direct(3, padding=3)
    assert not direct(top + 1) and not direct(3, stride=2)
    assert not direct(3, kernel_size=[3, 1]) and not direct(3, kernel_size=7, width=40)
    # 5x5: LeNet's first layer (28 wide out) runs direct, its second (10 wide) does not
    assert direct(1, width=28, kernel_size=5, padding=2)
    assert direct(6, width=20, kernel_size=5) and not direct(6, width=19, kernel_size=5)
    assert direct(1, width=12, kernel_size=5, padding=4) and not direct(1, kernel_size=5)
    assert not direct(1, width=28, kernel_size=5, padding=5)
    assert not direct(1, width=28, kernel_size=5, stride=2, padding=2)


# (input channels, image side, window, padding, activation, input gradient): the residual
# CNN's layers and LeNet's first layer, with an input gradient as if it were not first
DIRECT_SHAPES = [(3, 32, 3, 1, "relu", False), (16, 32, 3, 1, "relu", True),
                 (16, 32, 3, 1, "linear", True), (1, 28, 5, 2, "relu", False),
                 (1, 28, 5, 2, "linear", True), (3, 24, 5, 0, "tanh", True)]


def direct_layer(c, side, k, pad, act, dtype=np.float32):
    cfg = Conv2D.config({"filters": 16 if k == 3 else 6, "kernel_size": k, "padding": pad,
                         "activation": act})
    layer = Conv2D("c", cfg, [(c, side, side)], dtype)
    rng = np.random.default_rng(3)
    p = {k: (v + rng.normal(0, 0.1, v.shape)).astype(dtype)
         for k, v in layer.init_params(rng).items()}
    x = rng.normal(0, 1, (5, c, side, side)).astype(dtype)
    dy = rng.normal(0, 1, (5,) + layer.out_shape).astype(dtype)
    return layer, p, x, dy


def conv_step(layer, p, x, dy):
    y = layer.forward(p, [x], True).copy()
    (dx,), grads = layer.backward(p, dy)
    return y, (None if dx is None else dx.copy()), {k: v.copy() for k, v in grads.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("c,side,k,pad,act,input_grad", DIRECT_SHAPES)
def test_direct_path_matches_im2col(c, side, k, pad, act, input_grad, dtype):
    layer, p, x, dy = direct_layer(c, side, k, pad, act, dtype)
    layer.needs_input_grad = input_grad
    assert layer.direct
    direct = conv_step(layer, p, x, dy)
    layer.direct = False
    im2col = conv_step(layer, p, x, dy)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for what, a, b in zip(("output", "input gradient"), direct[:2], im2col[:2]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)
    for k in p:
        np.testing.assert_allclose(direct[2][k], im2col[2][k], rtol=tol,
                                   atol=tol * np.abs(im2col[2][k]).max(), err_msg=k)


@pytest.mark.parametrize("c,side,k,pad,act,_", DIRECT_SHAPES)
def test_direct_path_matches_pytorch(c, side, k, pad, act, _):
    import torch
    layer, p, x, dy = direct_layer(c, side, k, pad, act)
    assert layer.direct
    y, dx, grads = conv_step(layer, p, x, dy)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = (torch.tensor(p[k], requires_grad=True) for k in ("W", "b"))
    yt = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
    yt = {"relu": torch.relu, "tanh": torch.tanh}.get(act, lambda v: v)(yt)
    yt.backward(torch.tensor(dy))
    for what, a, b in (("output", y, yt), ("input gradient", dx, xt.grad),
                       ("W", grads["W"], wt.grad), ("b", grads["b"], bt.grad)):
        b = b.detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5 * max(1.0, np.abs(b).max()),
                                   err_msg=what)
