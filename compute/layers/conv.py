"""Conv2D and Conv2DTranspose: learned filters sliding over images.

Both lower to one BLAS product over the whole batch between the weights and a column
matrix (compute/kernels/conv.py), except Conv2D's 3x3 and 5x5 stride-1 layers with few
channels, which run direct kernels (compute/kernels/conv_direct.py; see `runs_direct`).
Conv2D is a cross-correlation, as in every framework:
``y[n, f, oy, ox] = b[f] + Σ_{c,i,j} W[f, c, i, j] · x[n, c, oy·sh + i − ph, ox·sw + j − pw]``.
Conv2DTranspose is its adjoint, with PyTorch's weight layout ``(in_c, out_c, kh, kw)``.
The column matrices and GEMM results are cached on the layer and reused while the batch
size stays the same.
"""
from __future__ import annotations

import threading

import numpy as np

from .. import activations
from ..errors import ShapeError
from ..kernels import conv as k
from ..kernels import conv_direct as kd
from ..kernels.threads import matmul
from ..params import Param
from .base import INIT, Layer, register
from .geometry import PADDING_HELP, image_shape, pair, short_geometry, window_geometry

ACTIVATION = Param("activation", "choice", "linear", "activation applied after the layer",
                   choices=tuple(f for f in activations.FUNCTIONS if f != "softmax"))
# floats of column matrix per chunk of images: a chunk's GEMM operands stay in cache, and a
# layer holds one chunk's columns instead of the whole batch's (38 MB for a 16-channel 3x3
# layer on 64 32x32 images). 8 or 16 MB were no faster within the noise of 2 shared cores,
# and they cost ResNet's workload a quarter more peak memory.
COLS_BUDGET = 1 << 20
# Conv2D's path, by shape (`Conv2D.runs_direct`): stride-1 3x3 windows, and 5x5 windows on
# outputs at least DIRECT_MIN_WIDTH_5X5 wide, with at most DIRECT_MAX_CHANNELS input
# channels run the direct kernels (compute/kernels/conv_direct.py), which stay in the cache
# image by image; everything else (strides, wide layers, where the GEMM is fat enough to
# run near the machine's peak) lowers to im2col + one BLAS product. Measured on 2 cores,
# forward + backward of 64 images: a 5x5 layer was 1.2-3x faster direct on outputs 16-28
# wide with 1-32 channels (LeNet's first layer 2.8x), but 1.1-2x slower on LeNet's second
# layer (10 wide, no padding), where the 4 pad columns of every 14-wide row are 29 % of
# the work.
DIRECT_MAX_CHANNELS = 64
DIRECT_MIN_WIDTH_5X5 = 16


_SCRATCH = threading.local()


def scratch(name: str, size: int, dtype: np.dtype) -> np.ndarray:
    """A flat array of `size` from a per-thread pool that every layer shares: for what is
    dead once the call returns (a chunk's columns and GEMM results). Grown, never shrunk."""
    pool = getattr(_SCRATCH, "pool", None)
    if pool is None:
        pool = _SCRATCH.pool = {}
    buf = pool.get((name, dtype))
    if buf is None or buf.size < size:
        buf = pool[(name, dtype)] = np.empty(size, dtype)
    return buf[:size]


class _ConvBase(Layer):
    """What Conv2D and Conv2DTranspose share: params, buffers, activation, diagnostics."""

    family = "Convolution"
    penalized = ("W",)
    short_name = "Conv"
    # the model may clear this when the input is raw data (an Input node): backward then
    # returns [None] and skips the input gradient, a third of a first layer's backward
    needs_input_grad = True

    def __init__(self, node_id, cfg, in_shapes, dtype=np.float32) -> None:
        super().__init__(node_id, cfg, in_shapes, dtype)
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A scratch array kept across steps (its contents are overwritten by the caller).

        Backward reuses the forward pass's buffers once it has read them, so a layer holds
        one column matrix, not two; it expects one backward per forward, as the model runs.
        """
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != self.dtype:
            buf = self._buffers[name] = np.empty(shape, self.dtype)
        return buf

    def _bias(self, p: dict[str, np.ndarray], n_out: int) -> np.ndarray:
        if "b" in p:
            return p["b"]
        return self._zeros(n_out)

    def _zeros(self, n: int) -> np.ndarray:
        z = self._buffers.get(f"zeros{n}")
        if z is None or z.dtype != self.dtype:
            z = self._buffers[f"zeros{n}"] = np.zeros(n, self.dtype)
        return z

    def _output(self, z: np.ndarray, relu_done: bool) -> np.ndarray:
        """z after the activation, which a kernel may already have applied (ReLU)."""
        if relu_done:
            self._z, self._y = None, z
            return z
        return self._activate(z)

    def _grad_w(self, p: dict[str, np.ndarray]) -> np.ndarray:
        """Where the weight gradient goes: the model's buffer, or a new array."""
        gw = (self.grad_out or {}).get("W")
        return np.empty(p["W"].shape, self.dtype) if gw is None else gw

    def _activate(self, z: np.ndarray) -> np.ndarray:
        """f(z), in place unless the derivative needs z itself (abs)."""
        act = self.cfg["activation"]
        keep = act in activations.NEEDS_INPUT
        y = activations.forward(act, z, out=None if keep else z)
        self._z, self._y = (z if keep else None), y
        return y

    def _dz(self, dy: np.ndarray) -> np.ndarray:
        dz = activations.backward(self.cfg["activation"], self._z, self._y, dy)
        return np.ascontiguousarray(dz, self.dtype)

    def _input(self, xs: list[np.ndarray]) -> np.ndarray:
        return np.ascontiguousarray(xs[0], self.dtype)

    @classmethod
    def summary(cls, cfg):
        act = "" if cfg["activation"] == "linear" else " " + cfg["activation"]
        return f"{cls.short_name} {cfg['filters']}@{short_geometry(cfg)}{act}"

    def activation_kind(self):
        return activations.kind(self.cfg["activation"])


def conv_params(kernel: int, stride: int, padding: int | str) -> tuple[Param, ...]:
    return (Param("filters", "int", 16, "number of output channels (filters)", min=1, max=4096),
            Param("kernel_size", "size", kernel, "kernel height and width: an int or [kh, kw]",
                  min=1, max=64),
            Param("stride", "size", stride, "step between windows: an int or [sh, sw]",
                  min=1, max=32),
            Param("padding", "padding", padding, PADDING_HELP, min=0, max=64,
                  choices=("valid", "same")),
            ACTIVATION, INIT,
            Param("use_bias", "bool", True, "learn a bias b[f] added to every output of filter f"))


@register
class Conv2D(_ConvBase):
    """2-D convolution (cross-correlation) with stride, padding and an activation.

    Shape: (C, H, W) -> (filters, OH, OW); OH = ceil(H / stride) for "same", else
    (H + 2·padding − kh) // stride + 1.
    """

    type_name = "Conv2D"
    doc = "2-D convolution: learned filters slide over the image"
    params = conv_params(3, 1, "valid")

    @classmethod
    def geometry(cls, cfg, in_shapes) -> tuple[int, ...]:
        c, h, w = image_shape(cls.type_name, in_shapes[0])
        return window_geometry(cls.type_name, "kernel", (h, w), pair(cfg["kernel_size"]),
                               pair(cfg["stride"]), cfg["padding"])

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        *_, oh, ow = cls.geometry(cfg, in_shapes)
        return (cfg["filters"], oh, ow)

    def __init__(self, node_id, cfg, in_shapes, dtype=np.float32) -> None:
        super().__init__(node_id, cfg, in_shapes, dtype)
        self.geo = self.geometry(cfg, self.in_shapes)
        self.direct = self.runs_direct(self.geo, self.in_shapes[0][0])
        self.own_parallel_work = self.direct    # parallel kernels, no GEMM

    @staticmethod
    def runs_direct(geo: tuple[int, ...], channels: int) -> bool:
        """Whether a layer of this geometry runs the direct kernels (see
        DIRECT_MAX_CHANNELS)."""
        kh, kw, sh, sw, ph, pw, _, ow = geo
        window = (kh, kw) == (3, 3) or (kh, kw) == (5, 5) and ow >= DIRECT_MIN_WIDTH_5X5
        return (window and (sh, sw) == (1, 1) and ph < kh and pw < kw
                and channels <= DIRECT_MAX_CHANNELS)

    def param_shapes(self):
        kh, kw = pair(self.cfg["kernel_size"])
        f = self.cfg["filters"]
        shapes = {"W": (f, self.in_shapes[0][0], kh, kw)}
        if self.cfg["use_bias"]:
            shapes["b"] = (f,)
        return shapes

    def fans(self, name, shape):
        f, c, kh, kw = shape
        return c * kh * kw, f * kh * kw

    def _chunks(self, n: int) -> tuple[list[tuple[int, int]], int]:
        """Image ranges [s, e) of about equal size whose columns fit COLS_BUDGET."""
        kh, kw, *_, oh, ow = self.geo
        per_image = self.in_shapes[0][0] * kh * kw * oh * ow
        count = -(-n // max(1, min(n, COLS_BUDGET // per_image)))
        size = -(-n // count)
        return [(s, min(n, s + size)) for s in range(0, n, size)], size

    def forward(self, p, xs, training):
        x = self._input(xs)
        if self.direct:
            return self._forward_direct(p, x)
        n, f = x.shape[0], self.cfg["filters"]
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        rows, pix = x.shape[1] * kh * kw, oh * ow
        chunks, size = self._chunks(n)
        chunked = len(chunks) > 1
        # one chunk: the columns wait for backward in the layer's own buffer; more: backward
        # rebuilds each chunk's from x, so they live in the shared scratch
        cols = (scratch("cols", rows * size * pix, self.dtype) if chunked
                else self._buffer("cols", (rows * size * pix,)))
        z2 = scratch("z2", f * size * pix, self.dtype)
        w2, b = p["W"].reshape(f, -1), self._bias(p, f)
        relu = self.cfg["activation"] == "relu"      # fused into the layout shuffle
        z = np.empty((n, f, oh, ow), self.dtype)
        for s, e in chunks:
            c = (e - s) * pix
            part = cols[:rows * c].reshape(rows, c)
            k.im2col(x[s:e], kh, kw, sh, sw, ph, pw, oh, ow, part)
            out = z2[:f * c].reshape(f, c)
            matmul(w2, part, out=out)
            k.channels_to_batch(out, b, relu, z[s:e].reshape(e - s, f, pix))
        self._x, self._n, self._chunked = x, n, chunked
        return self._output(z, relu)

    def backward(self, p, dy):
        if self.direct:
            return self._backward_direct(p, dy)
        n, f = self._n, self.cfg["filters"]
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        rows, pix = self.in_shapes[0][0] * kh * kw, oh * ow
        chunks, size = self._chunks(n)
        relu = self.cfg["activation"] == "relu"   # fused into the layout shuffle below
        dz = np.ascontiguousarray(dy, self.dtype) if relu else self._dz(dy)
        no_mask = dz[:0].reshape(0, f, pix)
        cols = (scratch("cols", rows * size * pix, self.dtype) if self._chunked
                else self._buffers["cols"])
        z2 = scratch("z2", f * size * pix, self.dtype)
        w2 = p["W"].reshape(f, -1)
        grads = {"W": self._grad_w(p)}
        gw = grads["W"].reshape(f, rows)
        db, sums = np.zeros(f, self.dtype), self._buffer("sums", (f,))
        part_w = self._buffer("part_w", (f, rows)) if len(chunks) > 1 else gw
        dx = np.zeros((n,) + self.in_shapes[0], self.dtype) if self.needs_input_grad else None
        for i, (s, e) in enumerate(chunks):
            c = (e - s) * pix
            part = cols[:rows * c].reshape(rows, c)
            if self._chunked:
                k.im2col(self._x[s:e], kh, kw, sh, sw, ph, pw, oh, ow, part)
            dz2 = z2[:f * c].reshape(f, c)
            mask = self._y[s:e].reshape(e - s, f, pix) if relu else no_mask
            k.batch_to_channels(dz[s:e].reshape(e - s, f, pix), mask, dz2, sums)
            db += sums
            matmul(dz2, part.T, out=gw if i == 0 else part_w)
            if i:
                gw += part_w
            if dx is not None:      # the columns' last use: their memory takes the gradient
                matmul(w2.T, dz2, out=part)
                k.col2im(part, kh, kw, sh, sw, ph, pw, oh, ow, dx[s:e])
        self._x = None
        if "b" in p:
            grads["b"] = db
        return [dx], grads

    def _forward_direct(self, p, x):
        n, f = x.shape[0], self.cfg["filters"]
        *_, ph, pw, oh, ow = self.geo
        relu = self.cfg["activation"] == "relu"      # fused into the kernel's output write
        z = np.empty((n, f, oh, ow), self.dtype)
        kd.conv(x, np.ascontiguousarray(p["W"]), self._bias(p, f), ph, pw, relu, z)
        self._x, self._n = x, n
        return self._output(z, relu)

    def _backward_direct(self, p, dy):
        """One pass over the images: weight and bias gradients, and the input gradient as
        the full correlation of dz with the flipped kernel W'[c, f] = W[f, c] rotated 180°."""
        x, (c, h, w), f = self._x, self.in_shapes[0], self.cfg["filters"]
        ph, pw = self.geo[4:6]
        relu = self.cfg["activation"] == "relu"
        dz = np.ascontiguousarray(dy, self.dtype) if relu else self._dz(dy)
        mask = self._y if relu else dz[:0]
        flipped = self._buffer("flipped", (c, f) + p["W"].shape[2:])
        flipped[...] = p["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        dx = np.empty((self._n, c, h, w) if self.needs_input_grad else (0, c, h, w),
                      self.dtype)
        grads = {"W": self._grad_w(p)}
        gb = np.empty(f, self.dtype)
        kd.conv_backward(x, dz, mask, ph, pw, flipped, self._zeros(c),
                            grads["W"].reshape(f, -1), gb, dx)
        if "b" in p:
            grads["b"] = gb
        self._x = None
        return [dx if self.needs_input_grad else None], grads

    def macs(self):
        c = self.in_shapes[0][0]
        kh, kw, *_, oh, ow = self.geo
        return self.cfg["filters"] * oh * ow * c * kh * kw


@register
class Conv2DTranspose(_ConvBase):
    """Transposed convolution (the adjoint of Conv2D), learned upsampling for decoders.

    Weights (in_c, out_c, kh, kw) as in PyTorch. An int padding crops the output as in
    PyTorch; "same" gives H·stride (the adjoint of a "same" Conv2D, extra crop at the
    bottom/right).
    Shape: (C, H, W) -> (filters, (H − 1)·stride − 2·padding + kh, ...), or
    (filters, H·stride, W·stride) for "same".
    """

    type_name = "Conv2DTranspose"
    doc = "Transposed convolution: learned upsampling (decoders, U-Nets)"
    params = conv_params(2, 2, "same")
    short_name = "ConvT"

    @classmethod
    def geometry(cls, cfg, in_shapes) -> tuple[int, ...]:
        """(kh, kw, sh, sw, ph, pw, oh, ow): oh/ow is the output, ph/pw the crop before."""
        c, h, w = image_shape(cls.type_name, in_shapes[0])
        (kh, kw), (sh, sw) = pair(cfg["kernel_size"]), pair(cfg["stride"])
        pad = cfg["padding"]
        if pad == "same":
            oh, ow = h * sh, w * sw
            ph, pw = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
        else:
            ph = pw = 0 if pad == "valid" else pad
            oh, ow = (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw
        if oh < 1 or ow < 1:
            raise ShapeError(f'"{{node}}" (Conv2DTranspose): padding {pad} crops the whole '
                             f'output of a {kh}x{kw} kernel at stride {sh}x{sw} on a {h}x{w} '
                             f'input; use less padding or padding "same"')
        return kh, kw, sh, sw, ph, pw, oh, ow

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        *_, oh, ow = cls.geometry(cfg, in_shapes)
        return (cfg["filters"], oh, ow)

    def __init__(self, node_id, cfg, in_shapes, dtype=np.float32) -> None:
        super().__init__(node_id, cfg, in_shapes, dtype)
        self.geo = self.geometry(cfg, self.in_shapes)

    def param_shapes(self):
        kh, kw = pair(self.cfg["kernel_size"])
        f = self.cfg["filters"]
        shapes = {"W": (self.in_shapes[0][0], f, kh, kw)}
        if self.cfg["use_bias"]:
            shapes["b"] = (f,)
        return shapes

    def fans(self, name, shape):
        """Fan-in counts the terms that really sum into one output: in_c·⌈kh/sh⌉·⌈kw/sw⌉."""
        c, f, kh, kw = shape
        sh, sw = pair(self.cfg["stride"])
        return c * -(-kh // sh) * -(-kw // sw), f * kh * kw

    def forward(self, p, xs, training):
        x = self._input(xs)
        n, (c, h, w), f = x.shape[0], self.in_shapes[0], self.cfg["filters"]
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        x2 = self._buffer("x2", (c, n * h * w))
        k.batch_to_channels(x.reshape(n, c, h * w), x[:0].reshape(0, c, h * w), x2,
                            self._buffer("sums", (c,)))
        cols = self._buffer("cols", (f * kh * kw, n * h * w))
        matmul(p["W"].reshape(c, -1).T, x2, out=cols)
        z = np.zeros((n, f, oh, ow), self.dtype)
        k.col2im(cols, kh, kw, sh, sw, ph, pw, h, w, z)
        if "b" in p:
            z += p["b"][:, None, None]
        self._n = n
        return self._activate(z)

    def backward(self, p, dy):
        n, (c, h, w), f = self._n, self.in_shapes[0], self.cfg["filters"]
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        dz = self._dz(dy)
        dcols = self._buffer("cols", (f * kh * kw, n * h * w))
        k.im2col(dz, kh, kw, sh, sw, ph, pw, h, w, dcols)
        x2 = self._buffers["x2"]
        grads = {"W": matmul(x2, dcols.T).reshape(p["W"].shape)}
        if "b" in p:
            grads["b"] = dz.sum(axis=(0, 2, 3))
        if not self.needs_input_grad:
            return [None], grads
        dx2 = x2            # the last use of the input columns: reuse their memory
        matmul(p["W"].reshape(c, -1), dcols, out=dx2)
        dx = np.empty((n, c, h, w), self.dtype)
        k.channels_to_batch(dx2, self._zeros(c), False, dx.reshape(n, c, h * w))
        return [dx], grads

    def macs(self):
        c, h, w = self.in_shapes[0]
        kh, kw = pair(self.cfg["kernel_size"])
        return c * h * w * self.cfg["filters"] * kh * kw
