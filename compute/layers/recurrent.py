"""SimpleRNN, LSTM and GRU: one time-loop wrapper (`Recurrent`) around three cells.

The wrapper owns what the cells share: params, the shape rule, weights and their
initialisation, the input projection ``x Wx + b`` for all steps in one GEMM, and the
weight gradients with one GEMM each over all steps. A cell adds its number of gates and
the two kernel calls of `compute.kernels.recurrent` (forward and backward through time).

Weights follow DESIGN.md: ``Wx (F, G·H)``, ``Wh (H, G·H)``, ``b (G·H,)`` with the gates side
by side, G = 1 (SimpleRNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, u, c). States start at zero.

Initialisation: ``init`` (default xavier, suited to tanh and sigmoid) for ``Wx``;
``recurrent_init`` for ``Wh``, default orthogonal per gate block (each ``(H, H)`` block an
orthogonal matrix, so repeated multiplication by ``Wh`` neither explodes nor vanishes at
the start); biases zero, except the LSTM forget gate's, which starts at 1 so that the
cell remembers by default (Jozefowicz et al. 2015; Keras' ``unit_forget_bias``).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from .. import initializers
from ..errors import ShapeError
from ..kernels import recurrent as k
from ..kernels.packed import weights
from ..kernels import threads
from ..kernels.threads import matmul
from ..params import Param
from .base import Layer, register
from .core import fmt

UNITS = Param("units", "int", 32, "size H of the hidden state", min=1, max=4096)
SEQUENCES = Param("return_sequences", "bool", False,
                  "many-to-many: output every step's state (T, H); else only the last (H,)")
INIT = Param("init", "choice", "xavier", "initialisation of the input weights Wx",
             choices=initializers.NAMES)
RECURRENT_INIT = Param("recurrent_init", "choice", "orthogonal",
                       "initialisation of the recurrent weights Wh (orthogonal per gate)",
                       choices=("orthogonal",) + initializers.NAMES)
USE_BIAS = Param("use_bias", "bool", True, "learn a bias b for every gate")
RESET_GATE = Param("reset_gate", "bool", True,
                   "use the reset gate Γr; false gives the course's simplified GRU")


def orthogonal(shape: tuple[int, int], blocks: int, rng: np.random.Generator,
               dtype) -> np.ndarray:
    """`blocks` orthogonal (H, H) matrices side by side: shape (H, blocks·H)."""
    h = shape[0]
    parts = []
    for _ in range(blocks):
        q, r = np.linalg.qr(rng.normal(0.0, 1.0, (h, h)))
        parts.append(q * np.sign(np.diag(r)))     # sign fix: uniform over orthogonal matrices
    return np.concatenate(parts, axis=1).astype(dtype)


class Recurrent(Layer):
    """The shared time-loop wrapper; subclasses are the cells.

    Shape: (T, F) -> (T, H) with return_sequences, else (H,).
    """

    family = "Recurrent"
    penalized = ("Wx", "Wh")
    own_parallel_work = True    # the time loop, over slices of the batch (`time_loop`)
    gates: ClassVar[int] = 1
    params = (UNITS, SEQUENCES, INIT, RECURRENT_INIT, USE_BIAS)

    # -- declared without data ------------------------------------------------------
    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        (s,) = in_shapes
        if len(s) != 2:
            example = [s[0], 1] if len(s) == 1 else [int(np.prod(s[:-1])), s[-1]]
            raise ShapeError(
                f'"{{node}}" ({cls.type_name}) needs a sequence (T, F) but "{{source}}" '
                f'gives {fmt(s)}: insert a Reshape between {{source}} and {{node}} '
                f'(e.g. to {example}: {example[0]} steps of {example[1]} features)')
        h = cfg["units"]
        return (s[0], h) if cfg["return_sequences"] else (h,)

    @classmethod
    def summary(cls, cfg):
        extra = "" if cfg.get("reset_gate", True) else " no-reset"
        seq = " seq" if cfg["return_sequences"] else ""
        return f"{cls.type_name} {cfg['units']}{extra}{seq}"

    # -- weights --------------------------------------------------------------------
    @property
    def units(self) -> int:
        return self.cfg["units"]

    def param_shapes(self):
        f, h, g = self.in_shapes[0][-1], self.units, self.gates * self.units
        shapes = {"Wx": (f, g), "Wh": (h, g)}
        if self.cfg["use_bias"]:
            shapes["b"] = (g,)
        return shapes

    def init_params(self, rng):
        shapes = self.param_shapes()
        f, g = shapes["Wx"]
        p = {"Wx": initializers.initialize(self.cfg["init"], (f, g), f, g, rng, self.dtype)}
        if self.cfg["recurrent_init"] == "orthogonal":
            p["Wh"] = orthogonal(shapes["Wh"], self.gates, rng, self.dtype)
        else:
            p["Wh"] = initializers.initialize(self.cfg["recurrent_init"], shapes["Wh"],
                                              self.units, g, rng, self.dtype)
        if "b" in shapes:
            p["b"] = self.initial_bias()
        return p

    def initial_bias(self) -> np.ndarray:
        return np.zeros(self.gates * self.units, self.dtype)

    @property
    def kernels_call_blas(self) -> bool:
        """Its per-step h @ Wh calls ``np.dot`` off float32 (float32: `packed.product`)."""
        return self.dtype != np.float32

    def cols(self) -> slice:
        """The gate columns of Wx, Wh and b that the cell uses (all but GRU's r without Γr)."""
        return slice(None)

    # -- running --------------------------------------------------------------------
    def forward(self, p, xs, training):
        x = xs[0]
        n, t, f = x.shape
        x2 = np.ascontiguousarray(x, self.dtype).reshape(n * t, f)
        cols = self.cols()
        xp = matmul(x2, p["Wx"][:, cols])
        if "b" in p:
            xp += p["b"][cols]
        self._x2, self._nt = x2, (n, t)
        ys = self.cell_forward(p, xp.reshape(n, t, -1), self.cfg["return_sequences"])
        return ys if self.cfg["return_sequences"] else ys.reshape(n, self.units)

    def backward(self, p, dy):
        n, t = self._nt
        dy3 = np.ascontiguousarray(dy, self.dtype).reshape(n, -1, self.units)
        dz = self.cell_backward(p, dy3)
        dz2 = dz.reshape(n * t, dz.shape[-1])
        cols = self.cols()
        grads = {"Wx": self._in_cols(matmul(self._x2.T, dz2), p["Wx"].shape),
                 "Wh": self.recurrent_grad(p, dz2)}
        if "b" in p:
            grads["b"] = self._in_cols(dz2.sum(axis=0), p["b"].shape)
        if not self.needs_input_grad:       # raw data: no gradient (requires_grad=False)
            return [None], grads
        dx = matmul(dz2, p["Wx"][:, cols].T).reshape(n, t, -1)
        return [dx], grads

    def _in_cols(self, g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A gradient over the used columns, placed in a full-size array (zeros elsewhere)."""
        if g.shape == shape:
            return g
        full = np.zeros(shape, self.dtype)
        full[..., self.cols()] = g
        return full

    def recurrent_grad(self, p, dz2: np.ndarray) -> np.ndarray:
        """dWh = Σ_t h_{t-1}ᵀ dz_t as one GEMM over all steps."""
        n, t = self._nt
        return matmul(self._hprev.reshape(n * t, -1).T, dz2)

    def time_loop(self, kernel, *arrays) -> None:
        """Run a cell's kernel over the batch, split into slices over the engine's threads:
        each sample's time loop is independent of the others'. Every array is (N, …)
        except the weights, which are shared (`packed.weights`)."""
        n, t = self._nt
        work = n * t * self.units * self.gates * self.units
        threads.split(n, work, lambda lo, hi: kernel(*(a[lo:hi] if getattr(a, "ndim", 0) == 3
                                                      else a for a in arrays)),
                      min_work=threads.SPLIT_MACS, own_only=True)

    def states(self, every_step: bool, gates: int = 1) -> np.ndarray:
        """A fresh (N, T, gates·H) array, or (N, 1, H) for the last step only."""
        n, t = self._nt
        return np.empty((n, t if every_step else 1, gates * self.units), self.dtype)

    def cell_forward(self, p, xp: np.ndarray, seq: bool) -> np.ndarray:
        """Run the time loop on the projected inputs xp (N, T, G·H), keeping what backward
        needs; return (N, T, H) states, or (N, 1, H) for the last step only."""
        raise NotImplementedError

    def cell_backward(self, p, dy3: np.ndarray) -> np.ndarray:
        """Backpropagate through time: the gradient at every gate pre-activation (N, T, G·H)."""
        raise NotImplementedError

    # -- description ----------------------------------------------------------------
    def macs(self):
        t, f = self.in_shapes[0]
        g = len(range(self.gates * self.units)[self.cols()])
        return t * (f + self.units) * g

    def activation_kind(self):
        return "tanh"


@register
class SimpleRNN(Recurrent):
    """Vanilla RNN: h_t = tanh(x_t Wx + h_{t-1} Wh + b).

    Shape: (T, F) -> (T, H) with return_sequences, else (H,).
    """

    type_name = "SimpleRNN"
    doc = "Vanilla recurrent layer h_t = tanh(x_t Wx + h_{t-1} Wh + b)"
    gates = 1

    def cell_forward(self, p, xp, seq):
        ys, self._hprev = self.states(seq), self.states(True)
        self.time_loop(k.rnn_forward, xp, weights(p["Wh"]), ys, self._hprev)
        self._ys = ys
        return ys

    def cell_backward(self, p, dy3):
        dz = self.states(True, self.gates)
        self.time_loop(k.rnn_backward, dy3, self._ys, self._hprev, weights(p["Wh"].T), dz)
        return dz


@register
class LSTM(Recurrent):
    """Long short-term memory, gates (i, f, g, o): c_t = f·c_{t-1} + i·g, h_t = o·tanh(c_t).

    Shape: (T, F) -> (T, H) with return_sequences, else (H,).
    """

    type_name = "LSTM"
    doc = "Long short-term memory: gated cell state c_t = f c_{t-1} + i g, h_t = o tanh(c_t)"
    gates = 4

    def initial_bias(self):
        b = np.zeros(4 * self.units, self.dtype)
        b[self.units:2 * self.units] = 1.0        # forget gate open: remember by default
        return b

    def cell_forward(self, p, xp, seq):
        ys, self._hprev = self.states(seq), self.states(True)
        self._gates, self._cs = self.states(True, self.gates), self.states(True)
        self.time_loop(k.lstm_forward, xp, weights(p["Wh"]), ys, self._hprev, self._gates,
                       self._cs)
        return ys

    def cell_backward(self, p, dy3):
        dz = self.states(True, self.gates)
        self.time_loop(k.lstm_backward, dy3, self._gates, self._cs, weights(p["Wh"].T), dz)
        return dz


@register
class GRU(Recurrent):
    """Gated recurrent unit as in the course, gates (r, u, c):
    c̃ = tanh(x Wxc + (r·h) Whc + bc), h_t = u·c̃ + (1 − u)·h_{t-1}.

    Without the reset gate (``reset_gate=false``, the simplified GRU) r ≡ 1. The weights
    keep their full (r, u, c) shapes so that project and weight files do not depend on the
    switch; the r columns are then unused and get zero gradients.

    Shape: (T, F) -> (T, H) with return_sequences, else (H,).
    """

    type_name = "GRU"
    doc = "Gated recurrent unit: h_t = u c̃ + (1 - u) h_{t-1}; reset gate optional"
    gates = 3
    params = (UNITS, SEQUENCES, RESET_GATE, INIT, RECURRENT_INIT, USE_BIAS)

    def cols(self):
        return slice(None) if self.cfg["reset_gate"] else slice(self.units, None)

    def _split(self, wh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Wh's r/u columns in use, Wh's c columns)."""
        h = self.units
        return wh[:, self.cols()][:, :-h], wh[:, -h:]

    def cell_forward(self, p, xp, seq):
        wru, wc = self._split(p["Wh"])
        ys, self._hprev = self.states(seq), self.states(True)
        self._gates = self.states(True, xp.shape[-1] // self.units)
        n, t = self._nt
        self._rh = np.empty((n, t if self.cfg["reset_gate"] else 0, self.units), self.dtype)
        self.time_loop(k.gru_forward, xp, weights(wru), weights(wc), ys, self._hprev,
                       self._gates, self._rh)
        return ys

    def cell_backward(self, p, dy3):
        wru, wc = self._split(p["Wh"])
        dz = np.empty(self._gates.shape, self.dtype)
        self.time_loop(k.gru_backward, dy3, self._hprev, self._gates,
                       weights(wru.T), weights(wc.T), dz)
        return dz

    def recurrent_grad(self, p, dz2):
        n, t = self._nt
        h = self.units
        hprev = self._hprev.reshape(n * t, h)
        rh = self._rh.reshape(n * t, h) if self.cfg["reset_gate"] else hprev
        grad = (np.empty if self.cfg["reset_gate"] else np.zeros)(p["Wh"].shape, self.dtype)
        matmul(hprev.T, dz2[:, :-h], out=grad[:, self.cols().start or 0:2 * h])
        matmul(rh.T, dz2[:, -h:], out=grad[:, 2 * h:])
        return grad
