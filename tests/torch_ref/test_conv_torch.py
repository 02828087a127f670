"""Conv2D, Conv2DTranspose, the pools and Upsample2D against torch.nn.functional, forward
and backward (input, weight and bias gradients), in float32 as the engine runs by default.

PyTorch pads symmetrically, so our "same" (the extra row/column at the bottom/right) is
compared through an explicit F.pad, and a "same" transposed convolution through the full
output cropped the same way.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from compute.layers import layer_class
from compute.layers.conv import pair


def make(type_name, params, shape):
    cls = layer_class(type_name)
    layer = cls("n", cls.config(params), [shape], np.float32)
    rng = np.random.default_rng(0)
    p = {k: (v + rng.normal(0, 0.1, v.shape)).astype(np.float32)
         for k, v in layer.init_params(rng).items()}
    return layer, p


def data(layer, batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch,) + layer.in_shapes[0]).astype(np.float32)
    dy = rng.normal(size=(batch,) + layer.out_shape).astype(np.float32)
    return x, dy


def ours(layer, p, x, dy):
    y = layer.forward(p, [x], True)
    (dx,), grads = layer.backward(p, dy)
    return y, dx, grads


def theirs(fn, x, dy, p):
    """y, dx and param grads of fn(x, **params) in torch."""
    xt = torch.tensor(x, requires_grad=True)
    pt = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    y = fn(xt, **pt)
    y.backward(torch.tensor(dy))
    return (y.detach().numpy(), xt.grad.numpy(),
            {k: v.grad.numpy() for k, v in pt.items()})


def close(a, b, what):
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5 * scale, err_msg=what)


def compare(layer, p, fn, batch=4):
    x, dy = data(layer, batch)
    y, dx, grads = ours(layer, p, x, dy)
    ty, tdx, tgrads = theirs(fn, x, dy, p)
    close(y, ty, "forward")
    close(dx, tdx, "input gradient")
    assert set(grads) == set(tgrads)
    for k in grads:
        close(grads[k], tgrads[k], f"gradient of {k}")


def torch_pads(size, k, s, padding):
    """(before, after) padding along one axis, as DESIGN.md defines it."""
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2
    p = 0 if padding == "valid" else padding
    return p, p


CONV = [
    ({"filters": 6, "kernel_size": 5}, (1, 12, 12)),
    ({"filters": 4, "kernel_size": 3, "padding": "same"}, (3, 7, 8)),
    ({"filters": 5, "kernel_size": 3, "stride": 2, "padding": "same"}, (2, 8, 7)),
    ({"filters": 3, "kernel_size": 4, "stride": 2, "padding": 1}, (2, 9, 9)),
    ({"filters": 4, "kernel_size": [3, 5], "stride": [2, 1], "padding": 2}, (3, 6, 7)),
    ({"filters": 8, "kernel_size": 1, "stride": 2, "use_bias": False}, (5, 5, 6)),
    ({"filters": 2, "kernel_size": 4, "stride": 3, "padding": "same"}, (2, 10, 8)),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}, (2, 6, 6)),
]


@pytest.mark.parametrize("params, shape", CONV)
def test_conv2d_matches_torch(params, shape):
    layer, p = make("Conv2D", params, shape)
    (kh, kw), (sh, sw) = pair(layer.cfg["kernel_size"]), pair(layer.cfg["stride"])
    top, bottom = torch_pads(shape[1], kh, sh, layer.cfg["padding"])
    left, right = torch_pads(shape[2], kw, sw, layer.cfg["padding"])
    act = torch.relu if layer.cfg["activation"] == "relu" else (lambda z: z)

    def fn(x, W, b=None):
        return act(F.conv2d(F.pad(x, (left, right, top, bottom)), W, b, stride=(sh, sw)))
    compare(layer, p, fn)


TRANSPOSE = [
    ({"filters": 3, "kernel_size": 2, "stride": 2}, (4, 5, 5)),
    ({"filters": 2, "kernel_size": 3, "stride": 2, "padding": 1}, (3, 4, 5)),
    ({"filters": 2, "kernel_size": 4, "stride": 2, "padding": 1}, (3, 4, 4)),
    ({"filters": 4, "kernel_size": 3, "stride": 2, "padding": "same"}, (2, 3, 4)),
    ({"filters": 2, "kernel_size": [3, 2], "stride": [1, 3], "padding": "same"}, (3, 4, 3)),
    ({"filters": 3, "kernel_size": 3, "stride": 1, "padding": "valid",
      "use_bias": False}, (2, 4, 4)),
    ({"filters": 2, "kernel_size": 5, "stride": 3, "padding": 2,
      "activation": "tanh"}, (2, 3, 3)),
]


@pytest.mark.parametrize("params, shape", TRANSPOSE)
def test_conv2d_transpose_matches_torch(params, shape):
    layer, p = make("Conv2DTranspose", params, shape)
    (kh, kw), (sh, sw) = pair(layer.cfg["kernel_size"]), pair(layer.cfg["stride"])
    pad, (_, h, w) = layer.cfg["padding"], shape
    same = pad == "same"
    if same:    # the crop of the adjoint of a "same" Conv2D: its top/left padding
        (ph, pw), (oh, ow) = (max(kh - sh, 0) // 2, max(kw - sw, 0) // 2), (h * sh, w * sw)
    else:
        ph = pw = 0 if pad == "valid" else pad
    act = torch.tanh if layer.cfg["activation"] == "tanh" else (lambda z: z)

    def fn(x, W, b=None):
        if not same:
            return act(F.conv_transpose2d(x, W, b, stride=(sh, sw), padding=(ph, pw)))
        # full output (padding 0), grown by output_padding when k < stride, then cropped
        extra = (max(sh - kh, 0), max(sw - kw, 0))
        full = F.conv_transpose2d(x, W, b, stride=(sh, sw), output_padding=extra)
        return act(full[:, :, ph:ph + oh, pw:pw + ow])
    compare(layer, p, fn)


POOLS = [
    ({}, (3, 8, 8)),
    ({"pool_size": 2}, (2, 7, 9)),
    ({"pool_size": 3, "stride": 2, "padding": 1}, (2, 9, 8)),
    ({"pool_size": [2, 3], "stride": 1, "padding": 1}, (3, 5, 6)),
    ({"pool_size": 3, "stride": 2, "padding": "same"}, (2, 8, 7)),
    ({"pool_size": 2, "padding": "same"}, (2, 5, 5)),
]


def pool_fn(layer, torch_pool, fill):
    cfg, (_, h, w) = layer.cfg, layer.in_shapes[0]
    (kh, kw), pad = pair(cfg["pool_size"]), cfg["padding"]
    sh, sw = (kh, kw) if cfg["stride"] is None else pair(cfg["stride"])
    if pad != "same":
        p = 0 if pad == "valid" else pad
        return lambda x: torch_pool(x, (kh, kw), (sh, sw), p)
    top, bottom = torch_pads(h, kh, sh, "same")
    left, right = torch_pads(w, kw, sw, "same")
    return lambda x: torch_pool(F.pad(x, (left, right, top, bottom), value=fill),
                                (kh, kw), (sh, sw))


@pytest.mark.parametrize("params, shape", POOLS)
def test_max_pool_matches_torch(params, shape):
    layer, p = make("MaxPool2D", params, shape)
    compare(layer, p, pool_fn(layer, F.max_pool2d, -np.inf))


@pytest.mark.parametrize("params, shape", POOLS)
def test_avg_pool_matches_torch(params, shape):
    layer, p = make("AvgPool2D", params, shape)
    compare(layer, p, pool_fn(layer, F.avg_pool2d, 0.0))


@pytest.mark.parametrize("shape", [(3, 5, 4), (6, 1, 7)])
def test_global_avg_pool_matches_torch(shape):
    layer, p = make("GlobalAvgPool2D", {}, shape)
    compare(layer, p, lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1))
    compare(layer, p, lambda x: x.mean(dim=(2, 3)))


@pytest.mark.parametrize("factor, shape", [(2, (3, 4, 5)), ([3, 2], (2, 3, 3)), (1, (2, 2, 2))])
def test_upsample_matches_torch(factor, shape):
    layer, p = make("Upsample2D", {"factor": factor}, shape)
    fh, fw = pair(factor)
    compare(layer, p, lambda x: F.interpolate(x, scale_factor=(fh, fw), mode="nearest"))
