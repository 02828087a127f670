"""BatchNorm against torch.nn.BatchNorm1d/2d: forward, backward and running statistics,
in training and in eval mode, in float32 as the engine runs by default."""
import numpy as np
import pytest
import torch

from compute.layers import layer_class

# (shape without batch, batch): features, sequences (T, F) and images (C, H, W)
SHAPES = [((5,), 8), ((4, 6), 3), ((3, 5, 4), 4)]


def make(shape, momentum=0.9, eps=1e-5, dtype=np.float32):
    cls = layer_class("BatchNorm")
    return cls("bn", cls.config({"momentum": momentum, "eps": eps}), [shape], dtype)


def torch_bn(shape, momentum, eps):
    """The torch module, and how to move our layout into its (N, C, ...) and back."""
    c = shape[0] if len(shape) == 3 else shape[-1]
    cls = torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d
    module = cls(c, eps=eps, momentum=1.0 - momentum)          # PyTorch weights the new batch
    if len(shape) == 2:                                         # (N, T, F) -> (N, F, T)
        return module, lambda a: a.transpose(1, 2), lambda a: a.transpose(1, 2)
    return module, lambda a: a, lambda a: a


def setup(shape, batch, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[0] if len(shape) == 3 else shape[-1]
    x = (rng.normal(size=(batch,) + shape) * 2.0 + 1.0).astype(np.float32)
    gamma = rng.normal(1.0, 0.3, c).astype(np.float32)
    beta = rng.normal(0.0, 0.3, c).astype(np.float32)
    dy = rng.normal(size=x.shape).astype(np.float32)
    return x, {"gamma": gamma, "beta": beta}, dy


def torch_run(module, to_t, from_t, x, p, dy, training):
    with torch.no_grad():
        module.weight.copy_(torch.tensor(p["gamma"]))
        module.bias.copy_(torch.tensor(p["beta"]))
    module.train(training)
    xt = torch.tensor(x, requires_grad=True)
    y = from_t(module(to_t(xt)))
    y.backward(torch.tensor(dy))
    return (y.detach().numpy(), xt.grad.numpy(), module.weight.grad.numpy(),
            module.bias.grad.numpy())


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5, err_msg=what)


@pytest.mark.parametrize("shape, batch", SHAPES)
@pytest.mark.parametrize("momentum", [0.9, 0.6])
def test_training_mode_matches_torch(shape, batch, momentum):
    layer = make(shape, momentum)
    module, to_t, from_t = torch_bn(shape, momentum, 1e-5)
    for step in range(3):                                   # running stats over 3 batches
        x, p, dy = setup(shape, batch, seed=step)
        y = layer.forward(p, [x], True)
        (dx,), grads = layer.backward(p, dy)
        ty, tdx, tdg, tdb = torch_run(module, to_t, from_t, x, p, dy, True)
        module.zero_grad()
        assert y.dtype == dx.dtype == grads["gamma"].dtype == np.float32
        assert_close(y, ty, "y")
        assert_close(dx, tdx, "dx")
        assert_close(grads["gamma"], tdg, "dgamma")
        assert_close(grads["beta"], tdb, "dbeta")
        assert_close(layer.state["running_mean"], module.running_mean.numpy(), "running_mean")
        assert_close(layer.state["running_var"], module.running_var.numpy(), "running_var")


@pytest.mark.parametrize("shape, batch", SHAPES)
def test_eval_mode_matches_torch(shape, batch):
    layer = make(shape, 0.9, eps=1e-3)
    module, to_t, from_t = torch_bn(shape, 0.9, 1e-3)
    for step in range(2):                                   # non-trivial running stats
        x, p, dy = setup(shape, batch, seed=10 + step)
        layer.forward(p, [x], True)
        torch_run(module, to_t, from_t, x, p, dy, True)
    module.zero_grad()
    x, p, dy = setup(shape, batch, seed=20)
    y = layer.forward(p, [x], False)
    (dx,), grads = layer.backward(p, dy)
    ty, tdx, tdg, tdb = torch_run(module, to_t, from_t, x, p, dy, False)
    assert_close(y, ty, "y")
    assert_close(dx, tdx, "dx")
    assert_close(grads["gamma"], tdg, "dgamma")
    assert_close(grads["beta"], tdb, "dbeta")
