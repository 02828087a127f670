"""SimpleRNN and LSTM against torch.nn.RNN/LSTM, Embedding against torch.nn.Embedding:
forward, input gradients and weight gradients in float32, as the engine runs by default.

Torch keeps ``weight_ih (G·H, F)`` and ``weight_hh (G·H, H)`` with the same gate order as
ours (i, f, g, o for LSTM), so ``Wx = weight_ihᵀ``, ``Wh = weight_hhᵀ``, and two biases that
always appear as a sum: ``b = b_ih + b_hh``. GRU is not compared: torch applies r after the
recurrent matmul (r·(h Whc)) where the course applies it before ((r·h) Whc); GRU's
reference is written from the formula in tests/layers/test_recurrent.py.
"""
import numpy as np
import pytest
import torch

from compute.layers import layer_class

TORCH = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM}
CONFIGS = [  # (T, F, H, batch, return_sequences, use_bias)
    (7, 3, 5, 4, True, True),
    (7, 3, 5, 4, False, True),
    (1, 4, 3, 2, False, True),
    (6, 2, 4, 3, True, False),
    (20, 8, 16, 8, False, True),
]


def ours(type_name, t, f, h, seq, bias):
    cls = layer_class(type_name)
    cfg = cls.config({"units": h, "return_sequences": seq, "use_bias": bias})
    return cls("rec", cfg, [(t, f)], np.float32)


def from_torch(module, bias):
    """Our params from a torch module's weights."""
    p = {"Wx": module.weight_ih_l0.detach().numpy().T.copy(),
         "Wh": module.weight_hh_l0.detach().numpy().T.copy()}
    if bias:
        p["b"] = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    return p


def assert_close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=what)


@pytest.mark.parametrize("type_name", ["SimpleRNN", "LSTM"])
@pytest.mark.parametrize("t, f, h, n, seq, bias", CONFIGS)
def test_matches_torch(type_name, t, f, h, n, seq, bias):
    torch.manual_seed(0)
    module = TORCH[type_name](f, h, batch_first=True, bias=bias)
    with torch.no_grad():                    # larger than torch's default ±1/sqrt(H): saturate
        for w in module.parameters():
            w.mul_(2.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    layer, p = ours(type_name, t, f, h, seq, bias), from_torch(module, bias)
    y = layer.forward(p, [x], True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    (dx,), grads = layer.backward(p, dy)

    xt = torch.tensor(x, requires_grad=True)
    out, _ = module(xt)
    yt = out if seq else out[:, -1]
    yt.backward(torch.tensor(dy))
    assert_close(y, yt.detach().numpy(), "output")
    assert_close(dx, xt.grad.numpy(), "input gradient")
    assert_close(grads["Wx"], module.weight_ih_l0.grad.numpy().T, "Wx gradient")
    assert_close(grads["Wh"], module.weight_hh_l0.grad.numpy().T, "Wh gradient")
    if bias:
        assert_close(grads["b"], module.bias_ih_l0.grad.numpy(), "b gradient")


def test_embedding_matches_torch():
    torch.manual_seed(0)
    module = torch.nn.Embedding(11, 4)
    cls = layer_class("Embedding")
    layer = cls("emb", cls.config({"vocab_size": 11, "dim": 4}), [(5,)], np.float32)
    p = {"W": module.weight.detach().numpy().copy()}
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 11, (6, 5))
    y = layer.forward(p, [ids], True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    _, grads = layer.backward(p, dy)
    yt = module(torch.tensor(ids))
    yt.backward(torch.tensor(dy))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    assert_close(grads["W"], module.weight.grad.numpy(), "W gradient")
