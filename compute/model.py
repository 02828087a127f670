"""A graph compiled into an executable model: forward, backward, parameters, diagnostics.

The executor is a topological walk forward and a reversed walk backward; the order is
computed once, at build time. Where one output feeds several nodes, their gradients add.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .chain import DenseChain
from .errors import GraphError, TrainingError
from .graph import Graph
from .kernels import stats
from .kernels import threads
from .kernels.runtime import keep_freed_memory
from .layers import layer_class
from .layers.output import Output

Arrays = dict[str, np.ndarray]

keep_freed_memory()     # process-wide: steps reuse freed memory (compute/kernels/runtime.py)


class Grads(dict):
    """Gradients by node and name. When the model keeps its parameters in one flat array,
    the gradients are views of one fresh flat array too (`flat`, at the same `offsets`),
    so an optimizer or a norm can take them all in one call. `views` lists them in the
    order of `parameters()`."""

    flat: np.ndarray | None = None
    offsets: dict[tuple[str, str], int] = {}
    views: list[np.ndarray] = []


class FlatList(list):
    """`Model.flat_grads`'s list, with the flat array its items are views of."""

    flat: np.ndarray
    offsets: tuple[int, ...]


@dataclass
class Regularization:
    """Global defaults: `l1`/`l2` apply to layers whose own are 0; `weight_noise` is the std
    of Gaussian noise added to every penalized weight during training steps."""

    l1: float = 0.0
    l2: float = 0.0
    weight_noise: float = 0.0


class Model:
    """An executable network built from a `Graph` (see `build_model`)."""

    def __init__(self, graph: Graph, seed: int = 0, dtype=np.float32,
                 regularization: Regularization | None = None, fuse: bool = True) -> None:
        shapes = graph.check()
        self.graph = graph.copy()
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise GraphError(f"dtype must be float32 or float64, got {self.dtype}")
        self.order: list[str] = graph.topological_order()
        self.sources: dict[str, list[str]] = {
            n: [s for _, s in sorted(graph.inputs_of(n).items())] for n in self.order}
        self.output_shapes: dict[str, tuple[int, ...]] = {n: shapes.of(n) for n in self.order}
        self.layers = {}
        for n in self.order:
            node = graph.node(n)
            in_shapes = [shapes.of(s) for s in self.sources[n]]
            self.layers[n] = layer_class(node.type)(n, node.config, in_shapes, self.dtype)
        self.input_ids = [n for n in self.order if self.layers[n].type_name == "Input"]
        for n in self.order:
            if self.sources[n] and all(s in self.input_ids for s in self.sources[n]):
                self.layers[n].needs_input_grad = False
        self.output_ids = [n for n in self.order if isinstance(self.layers[n], Output)]
        # who splits the GEMMs while this model runs: BLAS or the engine (kernels/threads.py)
        self.splits_own_work = any(l.splits_own_work for l in self.layers.values())
        self.kernels_call_blas = any(l.kernels_call_blas for l in self.layers.values())
        rng = np.random.default_rng(seed)
        self.params: dict[str, Arrays] = {}
        for n in self.order:
            p = self.layers[n].init_params(rng)
            if p:
                self.params[n] = p
        # arrays that are not learned but belong with the weights (BatchNorm running stats)
        self.state: dict[str, Arrays] = {n: l.state for n, l in self.layers.items() if l.state}
        self.rng = np.random.default_rng([seed, 1])
        for layer in self.layers.values():
            layer.rng = self.rng
        self.regularization = regularization or Regularization()
        self.values: Mapping[str, np.ndarray] = {}   # every node's output, last forward pass
        self.diagnostics: dict[str, Any] = {}
        self.flat_params, self.flat_offsets = self._pack_params()
        # per node, (name, start, end, shape or None for 1-D) of each param in the flat array
        self._slices: list[tuple[str, list]] = []
        for n, k, v in self.parameters() if self.flat_params is not None else ():
            if not self._slices or self._slices[-1][0] != n:
                self._slices.append((n, []))
            at = self.flat_offsets[(n, k)]
            self._slices[-1][1].append((k, at, at + v.size, v.shape if v.ndim != 1 else None))
        self._bounds = np.array([parts[0][1] for _, parts in self._slices]
                                + [self.flat_params.size if self._slices else 0], np.int64)
        self._own_penalties = any(l.cfg.get("l1") or l.cfg.get("l2")
                                  for l in self.layers.values() if l.penalized)
        # fuse=False keeps the layer-by-layer path for every step (tests compare the two)
        self._chain = DenseChain.plan(self) if fuse else None

    def _pack_params(self) -> tuple[np.ndarray | None, dict[tuple[str, str], int]]:
        """Move every parameter into one flat array (params become views of it), so that
        an optimizer updates them all in one call; not done for mixed dtypes."""
        arrays = self.parameters()
        if not arrays or any(v.dtype != self.dtype for _, _, v in arrays):
            return None, {}
        flat = np.empty(sum(v.size for _, _, v in arrays), self.dtype)
        offsets, at = {}, 0
        for n, k, v in arrays:
            view = flat[at:at + v.size].reshape(v.shape)
            view[...] = v
            self.params[n][k] = view
            offsets[(n, k)] = at
            at += v.size
        return flat, offsets

    # -- running --------------------------------------------------------------------
    def forward(self, x: np.ndarray | Mapping[str, np.ndarray], training: bool = False):
        """Outputs for a batch: one array for a single Output node, else a dict by id.

        Outputs are probabilities for the cross-entropy losses (softmax/sigmoid applied).
        """
        values = self._bind_inputs(x)
        threads.engage(self.splits_own_work, self.kernels_call_blas)
        for n in self.order:
            if n in values:
                continue
            layer = self.layers[n]
            values[n] = layer.forward(self.params.get(n, {}), [values[s] for s in self.sources[n]],
                                      training)
        self.values = values
        if len(self.output_ids) == 1:
            return values[self.output_ids[0]]
        return {n: values[n] for n in self.output_ids}

    def loss_and_grads(self, x, target, diagnostics: bool = False) -> tuple[float, dict]:
        """Loss (with penalties and extra terms such as a VAE's KL) and its gradients.

        Runs in training mode (dropout, noise, batch statistics). `target` is an array for a
        single Output node, else a dict by Output id. With `diagnostics`, fills
        `self.diagnostics` with activation statistics and gradient norms per node.
        The gradients are fresh arrays each call.
        """
        if self._chain is not None and not self.regularization.weight_noise:
            done = self._chain.run(x, target, self.flat_params)
            if done is not None:                    # a small dense chain: one compiled call
                loss, flat, self.values = done
                grads = self._grad_views(flat)
                loss += self._add_penalties(grads)
                if diagnostics:
                    self.diagnostics = self._chain.diagnose(self.values, flat, self._bounds)
                return loss, grads
        noise = self._add_weight_noise()
        try:
            self.forward(x, training=True)
            targets = self._bind_targets(target)
            loss = 0.0
            dys: Arrays = {}
            for n in self.output_ids:
                part, dz = self.layers[n].loss(targets[n])
                loss += part
                dys[n] = dz
            loss += sum(float(l.extra_loss) for l in self.layers.values())
            grads, act_grads = self._backward(dys, keep=diagnostics)
        finally:
            self._remove_weight_noise(noise)
        loss += self._add_penalties(grads)
        if diagnostics:
            self.diagnostics = self._diagnose(grads, {
                n: float(np.sqrt(stats.sum_squares(np.ascontiguousarray(g).reshape(-1))))
                for n, g in act_grads.items()})
        return loss, grads

    def _backward(self, dys: Arrays, keep: bool) -> tuple[dict, Arrays]:
        flat = None if self.flat_params is None else np.empty_like(self.flat_params)
        grads = self._grad_views(flat)
        done: set[str] = set()
        kept: Arrays = {}
        for n in reversed(self.order):
            dy = dys.pop(n, None)
            if dy is not None and keep:
                kept[n] = dy
            if dy is None or not self.sources[n]:
                continue
            layer = self.layers[n]
            out = layer.grad_out = grads.get(n)     # where a layer may write its gradients
            try:
                dxs, g = layer.backward(self.params.get(n, {}), dy)
            finally:
                layer.grad_out = None
            if g:
                done.add(n)
                if out is None:
                    grads[n] = g
                else:
                    for k, v in out.items():
                        arr = g.get(k)
                        if arr is None:
                            v.fill(0)
                        elif arr is not v:
                            v[...] = arr
            for s, dx in zip(self.sources[n], dxs):
                if dx is not None:
                    dys[s] = dx if s not in dys else dys[s] + dx
        for n in self.params:       # a param that got no gradient still gets zeros
            if n not in done:
                if n in grads:
                    for v in grads[n].values():
                        v.fill(0)
                else:
                    grads[n] = {k: np.zeros_like(v) for k, v in self.params[n].items()}
        return grads, kept

    def _grad_views(self, flat: np.ndarray | None) -> Grads:
        """A Grads dict of views into `flat`, shaped like the params (empty without one)."""
        grads = Grads()
        if flat is None:
            return grads
        views = []
        for n, parts in self._slices:
            d = grads[n] = {}
            for k, a, b, shape in parts:
                v = d[k] = flat[a:b] if shape is None else flat[a:b].reshape(shape)
                views.append(v)
        grads.flat, grads.offsets, grads.views = flat, self.flat_offsets, views
        return grads

    # -- inputs and targets -----------------------------------------------------------
    def _bind_inputs(self, x) -> Arrays:
        if not isinstance(x, Mapping):
            if len(self.input_ids) != 1:
                raise TrainingError(f"this network has {len(self.input_ids)} Input nodes "
                                    f"({', '.join(self.input_ids)}): pass a dict by id")
            x = {self.input_ids[0]: x}
        missing = [n for n in self.input_ids if n not in x]
        if missing:
            raise TrainingError(f'no data given for Input "{missing[0]}"')
        values = {}
        for n in self.input_ids:
            values[n] = self._cast_input(n, np.asarray(x[n]))
        return values

    def _cast_input(self, n: str, arr: np.ndarray) -> np.ndarray:
        want = self.output_shapes[n]
        if arr.shape[1:] != want:
            raise TrainingError(f'Input "{n}": expected samples of shape {want}, got '
                                f'{arr.shape[1:]} (batch shape {arr.shape})')
        if self.layers[n].cfg.get("dtype") == "int":
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
                raise TrainingError(f'Input "{n}": expected integer token ids')
            return arr.astype(np.int64, copy=False)
        if arr.dtype.kind not in "fiub":
            raise TrainingError(f'Input "{n}": expected numbers, got dtype {arr.dtype}')
        return np.ascontiguousarray(arr, dtype=self.dtype)

    def _bind_targets(self, target) -> dict:
        if not isinstance(target, Mapping):
            if len(self.output_ids) != 1:
                raise TrainingError(f"this network has {len(self.output_ids)} Output nodes: "
                                    f"pass targets as a dict by id")
            return {self.output_ids[0]: target}
        missing = [n for n in self.output_ids if n not in target]
        if missing:
            raise TrainingError(f'no target given for Output "{missing[0]}"')
        return dict(target)

    # -- regularisation ---------------------------------------------------------------
    def penalty_strengths(self, n: str) -> tuple[float, float]:
        """(l1, l2) for a node: its own, or the global default where its own is 0."""
        cfg = self.layers[n].cfg
        l1 = cfg.get("l1", 0.0) or self.regularization.l1
        l2 = cfg.get("l2", 0.0) or self.regularization.l2
        return l1, l2

    def _add_penalties(self, grads: dict) -> float:
        """The L1/L2 penalty, its gradient added in place."""
        reg = self.regularization
        if not (self._own_penalties or reg.l1 or reg.l2):
            return 0.0
        total = 0.0
        for n, p in self.params.items():
            l1, l2 = self.penalty_strengths(n)
            if not (l1 or l2):
                continue
            for name in self.layers[n].penalized:
                w = p[name]
                g = grads[n][name]
                if l2:
                    total += 0.5 * l2 * float(np.sum(w * w, dtype=np.float64))
                    g += l2 * w
                if l1:
                    total += l1 * float(np.sum(np.abs(w), dtype=np.float64))
                    g += l1 * np.sign(w)
        return total

    def _add_weight_noise(self) -> list:
        """Perturb penalized weights for one step; returns what restores them exactly."""
        sigma = self.regularization.weight_noise
        if not sigma:
            return []
        saved = []
        for n, p in self.params.items():
            for name in self.layers[n].penalized:
                w = p[name]
                saved.append((w, w.copy()))
                w += (self.rng.standard_normal(w.shape) * sigma).astype(self.dtype)
        return saved

    @staticmethod
    def _remove_weight_noise(saved: list) -> None:
        for w, original in saved:
            np.copyto(w, original)

    # -- diagnostics ------------------------------------------------------------------
    def _diagnose(self, grads: dict, out_norms: dict[str, float]) -> dict[str, Any]:
        """Per-node activation statistics and gradient norms from the last step;
        `out_norms` holds ‖d loss / d output‖ by node."""
        acts, norms = {}, {}
        weight_norms = {}
        flat = getattr(grads, "flat", None)
        if flat is not None:                # every node's weight norm in one pass
            sums = np.empty(len(self._slices))
            stats.segment_sum_squares(flat, self._bounds, sums)
            weight_norms = {n: float(np.sqrt(v)) for (n, _), v in zip(self._slices, sums)}
        for n in self.order:
            layer = self.layers[n]
            y = self.values.get(n)
            if y is not None and y.dtype.kind == "f" and n not in self.input_ids:
                kind = layer.activation_kind()
                center, sat = {"sigmoid": (0.5, 0.49), "tanh": (0.0, 0.99)}.get(kind, (0.0, 0.0))
                mean, std, zeros, satf = stats.activation_stats(
                    np.ascontiguousarray(y).reshape(-1), center, sat)
                acts[n] = {"mean": mean, "std": std,
                           "zero_fraction": zeros if kind == "relu" else None,
                           "saturated_fraction": satf if sat else None}
            entry = {}
            if n in weight_norms:
                entry["weights"] = weight_norms[n]
            elif n in grads:
                entry["weights"] = float(np.sqrt(sum(
                    stats.sum_squares(np.ascontiguousarray(g).reshape(-1))
                    for g in grads[n].values())))
            if n in out_norms:
                entry["activations"] = out_norms[n]
            if entry:
                norms[n] = entry
        return {"activations": acts, "grad_norms": norms}

    # -- description ------------------------------------------------------------------
    def summary(self) -> list[dict[str, Any]]:
        """One row per node: id, type, output shape, parameter count, multiply-adds."""
        rows = []
        for n in self.order:
            layer = self.layers[n]
            count = sum(int(np.prod(s)) for s in layer.param_shapes().values())
            rows.append({"node": n, "type": layer.type_name, "shape": self.output_shapes[n],
                         "params": count, "macs": layer.macs()})
        return rows

    def parameters(self) -> list[tuple[str, str, np.ndarray]]:
        """Every learnable array as (node, name, array), in a fixed order (for optimizers)."""
        return [(n, k, v) for n in self.order for k, v in self.params.get(n, {}).items()]

    @staticmethod
    def flat_grads(grads: dict, params: list[tuple[str, str, np.ndarray]]) -> list[np.ndarray]:
        """Gradients in the order of `parameters()`; when they are all still views of the
        flat array of `loss_and_grads`, the list says so (`FlatList`), for optimizers."""
        out = [grads[n][k] for n, k, _ in params]
        views = getattr(grads, "views", None)
        if not views or len(views) != len(out) or not all(map(operator.is_, out, views)):
            return out                  # not every gradient, in order, of the flat array
        listed = FlatList(out)
        listed.flat = grads.flat
        listed.offsets = tuple(grads.offsets.values())
        return listed

    @property
    def num_params(self) -> int:
        return sum(v.size for p in self.params.values() for v in p.values())

    def __repr__(self) -> str:
        return f"<Model {len(self.order)} nodes, {self.num_params} params, {self.dtype}>"


def build_model(graph: Graph, seed: int = 0, dtype=np.float32,
                regularization: Regularization | None = None, fuse: bool = True) -> Model:
    """Compile a graph into a model; GraphError names the node when it cannot run.

    `fuse` lets a small Dense chain run each step as one compiled call (compute/chain.py);
    False forces the layer-by-layer path, which gives the same results.
    """
    return Model(graph, seed=seed, dtype=dtype, regularization=regularization, fuse=fuse)
