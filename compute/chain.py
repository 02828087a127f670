"""The lean training step of a small dense chain: Input -> Dense x L -> Output.

A playground network (2-8-8-1 tanh, batch 32) does a few thousand multiply-adds per step;
walking the graph in Python costs a hundred times more. For such a chain the model runs
forward, loss and backward as one compiled call (`kernels.dense.chain_loss_grads`) over
its flat parameter and gradient arrays, with the same results as the layer-by-layer path.
Anything the chain does not cover (diagnostics, weight noise, bad targets) takes that path.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

import numpy as np

from .activations import DEFAULT_ALPHA
from .kernels import activations as ka
from .kernels import dense as kd
from .kernels import stats

# multiply-adds per step (batch × per sample) up to which the compiled loops beat the
# layer-by-layer path's BLAS calls plus Python (measured: 2-8-8-1 at batch 32 is 4x faster,
# 64-64-64-10 at batch 64, 560k, already slower)
MAX_WORK = 1 << 19
ACTIVATIONS = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "elu")
LOSSES = {"mse": kd.MSE, "binary_cross_entropy": kd.BCE, "cross_entropy": kd.CE}


class ChainValues(Mapping):
    """`model.values` after a lean step: views into its work buffer, made when read."""

    __slots__ = ("_input", "_x", "_work", "_n", "_spec")

    def __init__(self, input_id: str, x: np.ndarray, work: np.ndarray, n: int,
                 spec: dict[str, tuple[int, int]]) -> None:
        self._input, self._x, self._work, self._n, self._spec = input_id, x, work, n, spec

    def __getitem__(self, key: str) -> np.ndarray:
        if key == self._input:
            return self._x
        start, cols = self._spec[key]
        n = self._n
        return self._work[n * start:n * (start + cols)].reshape(n, cols)

    def __iter__(self) -> Iterator[str]:
        yield self._input
        yield from self._spec

    def __len__(self) -> int:
        return 1 + len(self._spec)


class DenseChain:
    """The plan of one model's lean step; `plan` says whether the model has one."""

    def __init__(self, model, dense: list[str], macs: int) -> None:
        self.dtype = model.dtype
        self.max_batch = MAX_WORK // max(macs, 1)
        self.input_id, self.output_id = model.input_ids[0], model.output_ids[0]
        self.loss = model.layers[self.output_id].cfg["loss"]
        layers = [model.layers[n] for n in dense]
        units = [l.cfg["units"] for l in layers]
        self.fan_in = layers[0].in_shapes[0][-1]
        self.k = units[-1]
        offs = model.flat_offsets
        start = np.concatenate([[0], np.cumsum(units)[:-1]])
        # y offsets are multiples of the batch size: column 5 holds them per sample
        self.meta = np.array([[l.in_shapes[0][-1], u, offs[(n, "W")], offs.get((n, "b"), -1),
                               ka.CODES[l.cfg["activation"]], s]
                              for n, l, u, s in zip(dense, layers, units, start)], np.int64)
        self.alphas = np.array([DEFAULT_ALPHA.get(l.cfg["activation"], 0.0) for l in layers],
                               self.dtype)
        self.p_start = int(sum(units))            # output probabilities, per sample
        self.widest = max(units)
        self.spec = {n: (int(s), u) for n, s, u in zip(dense, start, units)}
        last = self.spec[dense[-1]]
        self.spec[self.output_id] = last if self.loss == "mse" else (self.p_start, self.k)
        self._n = -1
        self.fast = self.dtype == np.float32
        self.dense = dense
        self.norms = np.zeros(len(dense))
        self._diagnostics_plan(model)
        # the chain reads the weights from the flat array: only while params are its views
        self._views = [(p, k, v) for p in (model.params[n] for n in dense) for k, v in p.items()]
        self._no_labels = np.zeros(0, np.int64)
        self._no_target = np.zeros(0, self.dtype)

    @classmethod
    def plan(cls, model) -> "DenseChain | None":
        """A plan when the model is a small float chain Input -> Dense... -> Output."""
        if model.flat_params is None or len(model.input_ids) != 1 or len(model.output_ids) != 1:
            return None
        order = model.order
        first, dense, last = order[0], order[1:-1], order[-1]
        if (first != model.input_ids[0] or last != model.output_ids[0] or not dense
                or model.layers[first].cfg.get("dtype") == "int"
                or len(model.output_shapes[first]) != 1):
            return None
        for prev, n in zip(order, order[1:]):
            if model.sources[n] != [prev]:
                return None
        macs = 0
        for n in dense:
            layer = model.layers[n]
            if layer.type_name != "Dense" or layer.cfg["activation"] not in ACTIVATIONS:
                return None
            macs += layer.macs()
        return cls(model, dense, macs) if macs <= MAX_WORK else None

    def _layout(self, n: int) -> None:
        """Offsets into the work buffer for batch size n (kept while n stays)."""
        self._n = n
        self._meta = self.meta.copy()
        self._meta[:, 5] *= n
        self._p_off = n * self.p_start
        self._d_off = self._p_off + n * self.k
        self._size = self._d_off + 2 * n * self.widest
        self._m = self.dtype.type(n)
        self._spans = (n * self._starts, n * self._stops)     # of each node's values

    def run(self, x, target, flat_params: np.ndarray):
        """(loss, flat gradients, values), or None where the layer-by-layer path must run
        (inputs or targets it does not take, or ones that are wrong: it raises for them;
        or params replaced by new arrays instead of written in place)."""
        if type(x) is not np.ndarray or x.ndim != 2 or x.shape[1] != self.fan_in:
            return None
        for p, k, v in self._views:
            if p[k] is not v:
                return None
        n = x.shape[0]
        if n == 0 or n > self.max_batch or x.dtype.kind not in "fiub":
            return None
        if x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, self.dtype)
        prepared = self._target(target, n)
        if prepared is None:
            return None
        code, labels, t = prepared
        if n != self._n:
            self._layout(n)
        work = np.empty(self._size, self.dtype)
        grads = np.empty(flat_params.size, self.dtype)
        total, bad = kd.chain_loss_grads(x.reshape(-1), n, labels, t, code, self._m,
                                         flat_params, grads, work, self._meta, self.alphas,
                                         self._p_off, self._d_off, self.fast, self.norms)
        if bad >= 0:
            return None
        values = ChainValues(self.input_id, x, work, n, self.spec)
        return float(total) / n, grads, values

    def diagnose(self, values: ChainValues, grads: np.ndarray, bounds: np.ndarray) -> dict:
        """The model's diagnostics after `run`, as `Model._diagnose` words them, from one
        kernel call; `bounds` delimit each Dense node's gradients in the flat `grads`."""
        stats.chain_diagnostics(values._work, self._spans[0], self._spans[1], self._centers,
                                self._sats, grads, bounds, self.norms, self._stats)
        acts, norms = {}, {}
        for node, relu, sat, (mean, std, zf, sf, wn, gn) in zip(
                self._nodes, self._relu, self._saturates, self._stats.tolist()):
            acts[node] = {"mean": mean, "std": std, "zero_fraction": zf if relu else None,
                          "saturated_fraction": sf if sat else None}
            norms[node] = {"weights": wn, "activations": gn}
        norms[self.output_id] = {"activations": gn}     # no weights: passes the last one's
        return {"activations": acts, "grad_norms": norms}

    def _diagnostics_plan(self, model) -> None:
        """Per node (the Dense ones, then the Output): where its values lie in the work
        buffer (per sample) and which saturation test applies."""
        nodes = self._nodes = self.dense + [self.output_id]
        kinds = [model.layers[n].activation_kind() for n in nodes]
        tests = [{"sigmoid": (0.5, 0.49), "tanh": (0.0, 0.99)}.get(k, (0.0, 0.0))
                 for k in kinds]
        self._relu = [k == "relu" for k in kinds]
        self._saturates = [bool(s) for _, s in tests]
        self._centers = np.array([c for c, _ in tests])
        self._sats = np.array([s for _, s in tests])
        spans = [self.spec[n] for n in nodes]
        self._starts = np.array([a for a, _ in spans], np.int64)
        self._stops = np.array([a + b for a, b in spans], np.int64)
        self._stats = np.empty((len(nodes), 6))

    def _target(self, target, n: int):
        """(loss code, class indices, flat targets), or None for what the kernel cannot take."""
        t = np.asarray(target)
        k = self.k
        if self.loss == "cross_entropy" and t.shape == (n,):
            labels = t.astype(np.int64, copy=False)
            if t.dtype.kind not in "iu" and not np.all(labels == t):
                return None
            return kd.CE, np.ascontiguousarray(labels), self._no_target
        if self.loss == "cross_entropy" or self.loss == "binary_cross_entropy":
            if t.shape != (n, k) and not (t.shape == (n,) and k == 1):
                return None
        elif t.size != n * k:
            return None
        if t.dtype.kind not in "fiub":
            return None
        return LOSSES[self.loss], self._no_labels, np.ascontiguousarray(t, self.dtype).reshape(-1)
