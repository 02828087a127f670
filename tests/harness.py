"""One test harness every layer passes (STYLE.md lesson 5).

A layer test module declares ``CASES = [Case(...), ...]`` and runs ``run_layer_test`` on
each. The harness checks, in float64: the shape rule against the real output shape, the
analytic backward pass against central differences for every input and parameter
(relative error < 1e-5), and the config round trip through a project-file graph.
``tests/test_jit_parity.py`` reruns every case with ``NUMBA_DISABLE_JIT=1`` and compares.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import compute
from compute.layers import layer_class

TOL = 1e-5


@dataclass
class Case:
    """One configuration of one layer type to check."""

    type_name: str
    params: dict[str, Any]
    in_shapes: list[tuple[int, ...]]
    batch: int = 3
    training: bool = False
    # integer inputs (token ids) get no gradient check: give (low, high) per such input
    int_inputs: dict[int, tuple[int, int]] = field(default_factory=dict)
    tol: float = TOL

    def __str__(self) -> str:
        ps = ",".join(f"{k}={v}" for k, v in self.params.items())
        mode = "-train" if self.training else ""
        return f"{self.type_name}({ps}){mode}<-" + "+".join("x".join(map(str, s))
                                                             for s in self.in_shapes)


def build(case: Case, dtype=np.float64, seed: int = 0):
    """(layer, params, inputs) for a case, deterministic under `seed`."""
    cls = layer_class(case.type_name)
    cfg = cls.config(case.params)
    layer = cls("node", cfg, case.in_shapes, dtype)
    rng = np.random.default_rng(seed)
    params = layer.init_params(rng)
    # random (not zero) biases and state so that their gradients are really checked
    params = {k: (v + rng.normal(0, 0.1, v.shape)).astype(dtype) for k, v in params.items()}
    inputs = []
    for i, s in enumerate(case.in_shapes):
        if i in case.int_inputs:
            lo, hi = case.int_inputs[i]
            inputs.append(rng.integers(lo, hi, (case.batch,) + tuple(s)))
        else:
            inputs.append(rng.normal(0, 1, (case.batch,) + tuple(s)).astype(dtype))
    return layer, params, inputs


def forward_backward(case: Case, dtype=np.float64, seed: int = 0):
    """Forward output, input gradients and param gradients under a fixed random
    projection of the output (so every output element matters)."""
    layer, params, inputs = build(case, dtype, seed)
    y = run(layer, params, inputs, case.training)
    proj = np.random.default_rng(seed + 7).normal(0, 1, y.shape).astype(dtype)
    dxs, grads = layer.backward(params, proj.copy())
    return layer, params, inputs, y, proj, dxs, grads


def run(layer, params, inputs, training):
    layer.rng = np.random.default_rng(1234)  # stochastic layers draw the same noise each time
    return layer.forward(params, [x.copy() for x in inputs], training)


def scalar(layer, params, inputs, proj, training) -> float:
    y = run(layer, params, inputs, training)
    return float(np.sum(y * proj)) + float(layer.extra_loss)


def numeric_grad(fn, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(arr, dtype=np.float64)
    flat, g = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = fn()
        flat[i] = old - eps
        down = fn()
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)
    return float(np.linalg.norm(a - b) / denom)


def check_gradients(case: Case) -> None:
    layer, params, inputs, y, proj, dxs, grads = forward_backward(case)
    assert y.shape == (case.batch,) + tuple(layer.out_shape), \
        f"{case}: output {y.shape[1:]} but shape rule says {layer.out_shape}"
    fn = lambda: scalar(layer, params, inputs, proj, case.training)  # noqa: E731
    for i, x in enumerate(inputs):
        if i in case.int_inputs:
            continue
        num = numeric_grad(fn, x)
        err = rel_error(dxs[i], num)
        assert err < case.tol, f"{case}: input {i} gradient rel. error {err:.2e}"
    assert set(grads) == set(params), f"{case}: grads for {set(grads)}, params {set(params)}"
    for name, w in params.items():
        num = numeric_grad(fn, w)
        assert grads[name].shape == w.shape, f"{case}: grad {name} shape {grads[name].shape}"
        err = rel_error(grads[name], num)
        assert err < case.tol, f"{case}: param {name} gradient rel. error {err:.2e}"


def check_config_round_trip(case: Case) -> None:
    g = compute.Graph()
    g.add_node("n", case.type_name, case.params)
    again = compute.Graph.from_dict(g.to_dict())
    assert again.node("n").config == g.node("n").config
    assert again.to_dict() == g.to_dict()


def check_shape_rule(case: Case) -> None:
    cls = layer_class(case.type_name)
    cfg = cls.config(case.params)
    layer, params, inputs = build(case)
    y = run(layer, params, inputs, case.training)
    assert y.shape[1:] == tuple(cls.infer_shape(cfg, case.in_shapes))


def check_dtypes(case: Case) -> None:
    """float32 in gives float32 out (no silent upcasting in the hot path)."""
    layer, params, inputs = build(case, np.float32)
    y = run(layer, params, inputs, case.training)
    assert y.dtype == np.float32, f"{case}: float32 input gave {y.dtype} output"
    dxs, grads = layer.backward(params, np.ones_like(y))
    for name, g in grads.items():
        assert g.dtype == np.float32, f"{case}: grad {name} is {g.dtype}"


def run_layer_test(case: Case) -> None:
    """Everything a layer type must pass, for one configuration."""
    check_shape_rule(case)
    check_gradients(case)
    check_config_round_trip(case)
    check_dtypes(case)
