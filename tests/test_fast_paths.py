"""The engine's fast paths against the general paths they stand in for (issue 6).

- The fused dense chain (compute/chain.py, one compiled call per step) against the
  layer-by-layer walk (`build_model(..., fuse=False)`): loss, every gradient, the values
  and the diagnostics, in float32 and float64.
- The optimizer's one-call update over the model's flat parameter and gradient buffers
  against a per-array update with gradients that share no buffer, penalties and clipping
  computed here in NumPy, over several steps.
- Conv2D's im2col path processing the batch in several chunks (a tiny `COLS_BUDGET`)
  against one chunk (its direct 3x3 path is checked in tests/layers/test_conv.py).
- The recurrent cells' per-step product with packed weights (compute/kernels/packed.py)
  against the same product in float64, and whole float32 recurrent layers wide enough to
  use it against float64 (which takes ``np.dot``).
"""
from __future__ import annotations

import numpy as np
import pytest

import compute
import compute.layers.conv as conv_layers
from compute import Regularization, build_model
from compute.chain import ChainValues
from compute.layers.conv import Conv2D
from compute.model import FlatList, Model
from compute.optimizers import clip_gradients, make_optimizer

TOL = {np.float32: 1e-5, np.float64: 1e-11}


def close(actual, expected, rtol: float, what: str) -> None:
    """Elementwise within rtol of the larger values (tiny entries get the array's scale)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def same_tree(a, b, rtol: float, path: str = "diagnostics") -> None:
    """Nested dicts with the same keys, the same Nones and floats within rtol."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: {sorted(a)} vs {sorted(b)}"
        for key in a:
            same_tree(a[key], b[key], rtol, f"{path}/{key}")
    elif a is None or b is None:
        assert a is None and b is None, f"{path}: fused {a!r}, general {b!r}"
    else:
        assert b == pytest.approx(a, rel=rtol, abs=rtol * 1e-2), \
            f"{path}: fused {a!r}, general {b!r}"


def same_diagnostics(fused: dict, general: dict, rtol: float, dtype) -> None:
    same_tree(fused["activations"], general["activations"], rtol, "activations")
    same_tree(fused["grad_norms"], general["grad_norms"], rtol, "grad_norms")


def test_activation_std_is_exact_for_narrow_spreads():
    """Shifted sums: a float32 layer's std does not drown in its mean (E[y²] − mean²
    unshifted gave 0.008 for a constant 100.1, and 0 or 2e-4 for one value)."""
    from compute.kernels.stats import activation_stats

    assert activation_stats(np.full(7, 100.1, np.float32), 0.0, 0.0)[1] == 0.0
    assert activation_stats(np.array([1.250141], np.float32), 0.0, 0.0)[1] == 0.0
    y = (3.3 + 9.77e-4 * np.random.default_rng(0).standard_normal(1000)).astype(np.float32)
    mean, std, _, _ = activation_stats(y, 0.0, 0.0)
    ref = y.astype(np.float64)
    assert mean == pytest.approx(ref.mean(), rel=1e-7)
    assert std == pytest.approx(ref.std(), rel=1e-5)


def perturb_biases(model: Model, seed: int) -> None:
    """Non-zero biases (the same in every model built alike), so their gradients count."""
    rng = np.random.default_rng(seed)
    for n, p in model.params.items():
        for k, v in p.items():
            if k != "W":
                v += rng.normal(0, 0.3, v.shape).astype(v.dtype)


# -- the fused dense chain ---------------------------------------------------------------
def mlp(fan_in: int, layers: list[tuple], loss: str) -> compute.Graph:
    """Input -> Dense... -> Output; each layer is (units, activation[, use_bias[, l2]])."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[fan_in])
    names = ["x"]
    for i, spec in enumerate(layers):
        units, act, bias, l2 = tuple(spec) + (True, 0.0)[len(spec) - 2:]
        g.add_node(f"d{i}", "Dense", units=units, activation=act, use_bias=bias, l2=l2)
        names.append(f"d{i}")
    g.add_node("out", "Output", loss=loss)
    g.chain(*names, "out")
    return g


def target_for(kind: str, n: int, k: int, rng: np.random.Generator, dtype):
    if kind == "labels":
        return rng.integers(0, k, n)
    if kind == "one_hot":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(dtype)
    return rng.normal(0, 1, (n, k)).astype(dtype)          # regression


CHAINS = {
    "relu-tanh-ce": (4, [(8, "relu"), (6, "tanh"), (3, "linear")], "cross_entropy", "labels",
                     None),
    "tanh-sigmoid-mse": (3, [(7, "tanh"), (5, "sigmoid"), (2, "linear")], "mse", "regression",
                         None),
    "no-bias-one-hot-ce": (5, [(6, "relu", False), (4, "sigmoid", False), (3, "linear", False)],
                           "cross_entropy", "one_hot", None),
    "mixed-bias-sigmoid-out-mse": (4, [(5, "sigmoid"), (4, "relu", False), (2, "sigmoid")],
                                   "mse", "regression", None),
    "playground-bce": (2, [(8, "tanh"), (8, "tanh"), (1, "linear")], "binary_cross_entropy",
                       "binary", None),
    "leaky-elu-penalties-mse": (4, [(6, "leaky_relu", True, 0.03), (5, "elu"), (2, "tanh")],
                                "mse", "regression", Regularization(l1=0.01, l2=0.02)),
    "one-dense-ce": (6, [(4, "linear")], "cross_entropy", "labels", None),
}


def fused_and_general(name: str, dtype, seed: int = 3) -> tuple[Model, Model]:
    fan_in, layers, loss, _, reg = CHAINS[name]
    graph = mlp(fan_in, layers, loss)
    fused = build_model(graph, seed=seed, dtype=dtype, regularization=reg)
    general = build_model(graph, seed=seed, dtype=dtype, regularization=reg, fuse=False)
    for m in (fused, general):
        perturb_biases(m, seed)
    return fused, general


def compare_step(fused: Model, general: Model, x, t, rtol: float) -> None:
    """One loss_and_grads with diagnostics on both; the fused one must be the chain's."""
    loss_f, grads_f = fused.loss_and_grads(x, t, diagnostics=True)
    assert isinstance(fused.values, ChainValues), "the fused path did not run"
    loss_g, grads_g = general.loss_and_grads(x, t, diagnostics=True)
    assert not isinstance(general.values, ChainValues)
    assert loss_f == pytest.approx(loss_g, rel=rtol)
    assert set(grads_f) == set(grads_g) == set(general.params)
    for n, p in general.params.items():
        assert set(grads_f[n]) == set(grads_g[n]) == set(p)
        for k in p:
            close(grads_f[n][k], grads_g[n][k], rtol, f"gradient {n}/{k}")
    assert set(fused.values) == set(general.values)
    for n in general.values:
        close(fused.values[n], general.values[n], rtol, f"values of {n}")
    assert set(fused.diagnostics) == set(general.diagnostics)
    same_diagnostics(fused.diagnostics, general.diagnostics, rtol, general.dtype)
    assert set(fused.diagnostics["activations"]) == set(general.order) - {"x"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batch", [1, 37])
@pytest.mark.parametrize("name", list(CHAINS))
def test_fused_chain_matches_layer_by_layer(name, batch, dtype):
    fused, general = fused_and_general(name, dtype)
    fan_in, layers, _, kind, _ = CHAINS[name]
    rng = np.random.default_rng(batch)
    x = rng.normal(0, 1, (batch, fan_in)).astype(dtype)
    t = target_for(kind, batch, layers[-1][0], rng, dtype)
    compare_step(fused, general, x, t, TOL[dtype])


def test_fused_chain_follows_weight_updates_and_batch_sizes():
    """The chain reads the flat weights the optimizer writes in place and re-lays its work
    buffer when the batch size changes (and back)."""
    fused, general = fused_and_general("relu-tanh-ce", np.float32)
    opts = [make_optimizer({"type": "momentum", "lr": 0.1}) for _ in range(2)]
    rng = np.random.default_rng(5)
    for n in (5, 37, 1, 37, 5):
        x = rng.normal(0, 1, (n, 4)).astype(np.float32)
        t = rng.integers(0, 3, n)
        compare_step(fused, general, x, t, 1e-5)
        for m, opt in zip((fused, general), opts):
            params = m.parameters()
            _, grads = m.loss_and_grads(x, t)
            opt.step([a for _, _, a in params], Model.flat_grads(grads, params))
    close(fused.flat_params, general.flat_params, 1e-5, "weights after the steps")


def test_fused_chain_steps_aside_for_replaced_weights():
    """A weight array replaced by a new one (not written in place) is no longer a view of
    the flat array the chain reads: the model must take the layer-by-layer path."""
    fused, general = fused_and_general("tanh-sigmoid-mse", np.float64)
    for m in (fused, general):
        m.params["d1"]["W"] = m.params["d1"]["W"] * 0.5
    rng = np.random.default_rng(6)
    x, t = rng.normal(0, 1, (8, 3)), rng.normal(0, 1, (8, 2))
    loss_f, grads_f = fused.loss_and_grads(x, t)
    assert not isinstance(fused.values, ChainValues)
    loss_g, grads_g = general.loss_and_grads(x, t)
    assert loss_f == pytest.approx(loss_g, rel=1e-12)
    close(grads_f["d1"]["W"], grads_g["d1"]["W"], 1e-12, "d1/W")


# -- the flat optimizer update -----------------------------------------------------------
def optimizer_graph(kind: str, own_l2: float) -> compute.Graph:
    """A Dense chain (the fused path) or one with a BatchNorm (the layer-by-layer path)."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[6])
    g.add_node("d0", "Dense", units=8, activation="relu")
    g.add_node("d1", "Dense", units=5, activation="tanh", l2=own_l2)
    g.add_node("d2", "Dense", units=3)
    g.add_node("out", "Output", loss="cross_entropy")
    if kind == "chain":
        g.chain("x", "d0", "d1", "d2", "out")
    else:
        g.add_node("bn", "BatchNorm")
        g.chain("x", "d0", "bn", "d1", "d2", "out")
    return g


OWN_L2 = 0.04       # d1's own L2; the global penalties apply to d0 and d2 (and d1's L1)


def reference_penalty(model: Model, reg: Regularization | None, n: str, k: str,
                      w: np.ndarray) -> np.ndarray:
    """d penalty / d w as the model documents it: own strengths, else the global ones."""
    if reg is None or k != "W":
        return np.zeros_like(w)
    l2 = OWN_L2 if n == "d1" else reg.l2
    return l2 * w + reg.l1 * np.sign(w)


def reference_clip(grads: list[np.ndarray], clip: dict) -> None:
    """Clip by value, then by global norm with PyTorch's factor, in float64 NumPy."""
    if clip.get("value") is not None:
        for g in grads:
            np.clip(g, -clip["value"], clip["value"], out=g)
    if clip.get("norm") is not None:
        now = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
        if now > clip["norm"]:
            for g in grads:
                g *= clip["norm"] / (now + 1e-6)


OPTIMIZERS = {
    "sgd": {"type": "sgd", "lr": 0.1},
    "momentum": {"type": "momentum", "lr": 0.05, "momentum": 0.9},
    "nesterov": {"type": "nesterov", "lr": 0.05, "momentum": 0.8},
    "rmsprop": {"type": "rmsprop", "lr": 0.01, "rho": 0.9},
    "adam": {"type": "adam", "lr": 0.01},
}
SETTINGS = {
    "plain": (None, {}),
    "penalties-norm-clip": (Regularization(l1=0.01, l2=0.05), {"norm": 0.5}),
    "value-then-norm-clip": (None, {"value": 0.02, "norm": 0.05}),
}


@pytest.mark.parametrize("kind", ["chain", "general"])
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_flat_update_matches_per_array_update(opt, setting, kind):
    """The trainer's step (flat gradients, penalties and clipping in place, one optimizer
    call over the flat buffer) against penalties, clipping and per-array updates here."""
    reg, clip = SETTINGS[setting]
    flat_model = build_model(optimizer_graph(kind, OWN_L2 if reg else 0.0), seed=1,
                             regularization=reg)
    # the reference model carries no penalty of its own: they are added below
    ref_model = build_model(optimizer_graph(kind, 0.0), seed=1)
    for m in (flat_model, ref_model):
        perturb_biases(m, 2)
    flat_opt, ref_opt = make_optimizer(OPTIMIZERS[opt]), make_optimizer(OPTIMIZERS[opt])
    flat_params, ref_params = flat_model.parameters(), ref_model.parameters()
    flat_arrays = [a for _, _, a in flat_params]
    rng = np.random.default_rng(3)
    for step in range(6):
        x = rng.normal(0, 1, (16, 6)).astype(np.float32)
        t = rng.integers(0, 3, 16)
        _, grads = flat_model.loss_and_grads(x, t)
        flat = Model.flat_grads(grads, flat_params)
        assert isinstance(flat, FlatList) and flat.flat is grads.flat
        clip_gradients(flat, norm=clip.get("norm"), value=clip.get("value"))
        flat_opt.step(flat_arrays, flat)
        assert flat_opt._flat_state is not None, "the one-call flat update did not run"

        _, grads = ref_model.loss_and_grads(x, t)
        ref_grads = [np.array(grads[n][k]) + reference_penalty(ref_model, reg, n, k, w)
                     for n, k, w in ref_params]           # separate arrays, no flat buffer
        reference_clip(ref_grads, clip)
        ref_opt.step([w for _, _, w in ref_params], ref_grads)
        for (n, k, a), (_, _, b) in zip(flat_params, ref_params):
            close(a, b, 1e-5, f"{opt} step {step + 1}: {n}/{k}")
    flat_state, ref_state = flat_opt.state_dict(), ref_opt.state_dict()
    assert set(flat_state) == set(ref_state)
    for key in ref_state:
        close(flat_state[key], ref_state[key], 1e-5, f"optimizer state {key}")


# -- Conv2D in chunks --------------------------------------------------------------------
def chunk_count(layer: Conv2D, n: int) -> int:
    return len(layer._chunks(n)[0])


CONVS = {
    "relu-fused": ({"filters": 4, "kernel_size": 3, "activation": "relu"}, (2, 9, 9), 11),
    "tanh-stride-same": ({"filters": 3, "kernel_size": [3, 2], "stride": 2, "padding": "same",
                          "activation": "tanh"}, (3, 8, 7), 10),
    "no-bias-pad": ({"filters": 2, "kernel_size": 5, "padding": 2, "use_bias": False},
                    (1, 6, 6), 7),
}


def conv_step(layer: Conv2D, p: dict, x: np.ndarray, dy: np.ndarray):
    y = layer.forward(p, [x], True).copy()
    (dx,), grads = layer.backward(p, dy)
    return y, (None if dx is None else dx.copy()), {k: v.copy() for k, v in grads.items()}


@pytest.mark.parametrize("input_grad", [True, False], ids=["dx", "no-dx"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(CONVS))
def test_conv2d_in_chunks_matches_one_chunk(name, dtype, input_grad, monkeypatch):
    cfg, shape, n = CONVS[name]
    layer = Conv2D("conv", Conv2D.config(cfg), [shape], dtype)
    layer.direct = False            # the chunks belong to the im2col path
    layer.needs_input_grad = input_grad
    rng = np.random.default_rng(4)
    p = {k: (v + rng.normal(0, 0.1, v.shape)).astype(dtype)
         for k, v in layer.init_params(rng).items()}
    x = rng.normal(0, 1, (n,) + shape).astype(dtype)
    dy = rng.normal(0, 1, (n,) + layer.out_shape).astype(dtype)
    assert chunk_count(layer, n) == 1
    y0, dx0, g0 = conv_step(layer, p, x, dy)
    kh, kw, *_, oh, ow = layer.geo
    per_image = shape[0] * kh * kw * oh * ow
    # one image per chunk, then three (the last one short), on the layer that already
    # holds one chunk's buffers, then back to one chunk
    for budget, chunks in ((1, n), (3 * per_image, -(-n // 3)), (conv_layers.COLS_BUDGET, 1)):
        monkeypatch.setattr(conv_layers, "COLS_BUDGET", budget)
        assert chunk_count(layer, n) == chunks
        y, dx, g = conv_step(layer, p, x, dy)
        tol = TOL[dtype]
        close(y, y0, tol, f"output, {chunks} chunks")
        if input_grad:
            close(dx, dx0, tol, f"input gradient, {chunks} chunks")
        else:
            assert dx is None and dx0 is None
        assert set(g) == set(g0) == set(p)
        for k in p:
            close(g[k], g0[k], tol, f"{k} gradient, {chunks} chunks")


def conv_net() -> compute.Graph:
    g = compute.Graph()
    g.add_node("x", "Input", shape=[2, 10, 10])
    g.add_node("c1", "Conv2D", filters=4, kernel_size=3, activation="relu")
    g.add_node("c2", "Conv2D", filters=3, kernel_size=3, stride=2, activation="tanh")
    g.add_node("flat", "Flatten")
    g.add_node("fc", "Dense", units=3)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("x", "c1", "c2", "flat", "fc", "out")
    return g


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv_model_in_chunks_matches_one_chunk(dtype, monkeypatch):
    """Two chunked Conv2Ds share the scratch columns and write their weight gradients into
    the model's flat gradient buffer, chunk by chunk."""
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, (9, 2, 10, 10)).astype(dtype)
    t = rng.integers(0, 3, 9)
    results = []
    for budget in (conv_layers.COLS_BUDGET, 50):
        monkeypatch.setattr(conv_layers, "COLS_BUDGET", budget)
        model = build_model(conv_net(), seed=2, dtype=dtype)
        model.layers["c1"].direct = False       # 3x3 stride 1: else the direct path
        perturb_biases(model, 3)
        loss, grads = model.loss_and_grads(x, t, diagnostics=True)
        counts = [chunk_count(model.layers[c], 9) for c in ("c1", "c2")]
        results.append((loss, grads, model.values["out"].copy(), counts))
    (loss0, g0, out0, counts0), (loss1, g1, out1, counts1) = results
    assert counts0 == [1, 1] and min(counts1) > 1
    tol = TOL[dtype]
    assert loss1 == pytest.approx(loss0, rel=tol)
    close(out1, out0, tol, "output")
    for n in g0:
        for k in g0[n]:
            close(g1[n][k], g0[n][k], tol, f"gradient {n}/{k}")


# -- the packed per-step product of the recurrent cells -------------------------------------
@pytest.mark.parametrize("m,k,n", [(32, 128, 512), (32, 512, 128), (7, 5, 37), (1, 1, 1),
                                   (5, 3, 16), (4, 9, 15), (6, 200, 50)])
def test_packed_product_matches_float64(m, k, n):
    """Row tiles of 4 and their remainder, full panels of 16 columns and the tail past
    them."""
    from numba import njit

    from compute.kernels.packed import PANEL, pack, product, weights

    @njit(cache=False)
    def call(a, w, out):
        product(a, w, out)

    rng = np.random.default_rng(m * 1000 + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    call(a, weights(w), out := np.full((m, n), np.nan, np.float32))
    close(out, a.astype(np.float64) @ w.astype(np.float64), 1e-6, "packed product")
    assert pack(w).shape == (n // PANEL, k, PANEL)


@pytest.mark.parametrize("type_name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("units", [16, 21])
def test_float32_recurrent_layers_with_packed_weights(type_name, units):
    """Layers wide enough for whole panels (and a tail with 21 units), a batch of 6 (a
    tile of 4 rows and 2 single rows), forward and backward against float64."""
    from tests.harness import Case, build, run

    case = Case(type_name, {"units": units, "return_sequences": True}, [(5, 3)], batch=6)
    layer, p, (x,) = build(case)
    l32, p32, (x32,) = build(case, dtype=np.float32)
    y64, y32 = run(layer, p, [x], True), run(l32, p32, [x32], True)
    close(y32, y64, 1e-5, "states")
    dy = np.random.default_rng(1).standard_normal(y64.shape)
    (dx64,), g64 = layer.backward(p, dy)
    (dx32,), g32 = l32.backward(p32, dy.astype(np.float32))
    close(dx32, dx64, 1e-4, "input gradient")
    for name in p:
        close(g32[name], g64[name], 1e-4, name)


def test_packed_product_refuses_panels_of_another_shape():
    """The tiles read memory unchecked: shapes that disagree are refused first."""
    from compute.kernels.packed import _packed_product, pack

    a, w = np.ones((4, 8), np.float32), np.ones((8, 32), np.float32)
    out = np.empty((4, 32), np.float32)
    for wp, o in ((pack(w)[:1], out), (pack(w)[:, :7], out), (pack(w), out[:, :16]),
                  (pack(np.ones((9, 32), np.float32)), out)):
        with pytest.raises(ValueError, match="shapes"):
            _packed_product(a, w, np.ascontiguousarray(wp), np.ascontiguousarray(o))
    _packed_product(a, w, pack(w), out)
    assert np.all(out == 8)
