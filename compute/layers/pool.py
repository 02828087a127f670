"""Pooling and upsampling: layers that change an image's resolution without weights.

MaxPool2D pads with -inf (padding is never chosen), AvgPool2D counts padded zeros in its
divisor (PyTorch's count_include_pad=True); the stride defaults to the pool size.
GlobalAvgPool2D averages each channel to one number; Upsample2D repeats pixels.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..kernels import pool as k
from ..params import Param
from .base import Layer, register
from .geometry import PADDING_HELP, image_shape, pair, window_geometry


NO_ARG = np.zeros((1, 1, 1), np.int32)   # average pooling records no argmax


class _Pool2D(Layer):
    """Shared by MaxPool2D and AvgPool2D: window geometry, shape rule, summary."""

    family = "Convolution"
    short_name = "Pool"
    params = (Param("pool_size", "size", 2, "window height and width: an int or [kh, kw]",
                    min=1, max=32),
              Param("stride", "optional_int", None, "step between windows; empty for the "
                    "pool size (windows that do not overlap)", min=1, max=32),
              Param("padding", "padding", 0, PADDING_HELP + "; at most half the window",
                    min=0, max=16, choices=("valid", "same")))

    @classmethod
    def geometry(cls, cfg, in_shapes) -> tuple[int, ...]:
        c, h, w = image_shape(cls.type_name, in_shapes[0])
        kh, kw = pair(cfg["pool_size"])
        stride = (kh, kw) if cfg["stride"] is None else pair(cfg["stride"])
        pad = cfg["padding"]
        if isinstance(pad, int) and 2 * pad > min(kh, kw):
            raise ShapeError(f'"{{node}}" ({cls.type_name}): padding {pad} is more than half '
                             f'the {kh}x{kw} window, so some windows would hold only '
                             f'padding; use padding <= {min(kh, kw) // 2}')
        return window_geometry(cls.type_name, "window", (h, w), (kh, kw), stride, pad)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        *_, oh, ow = cls.geometry(cfg, in_shapes)
        return (in_shapes[0][0], oh, ow)

    @classmethod
    def summary(cls, cfg):
        kh, kw = pair(cfg["pool_size"])
        text = f"{cls.short_name} {kh}x{kw}"
        if cfg["stride"] is not None and pair(cfg["stride"]) != (kh, kw):
            text += f" s{cfg['stride']}"
        pad = cfg["padding"]
        if pad not in (0, "valid"):
            text += f" {pad}" if isinstance(pad, str) else f" p{pad}"
        return text

    def __init__(self, node_id, cfg, in_shapes, dtype=np.float32) -> None:
        super().__init__(node_id, cfg, in_shapes, dtype)
        self.geo = self.geometry(cfg, self.in_shapes)

    def _planes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x as (N·C, H, W), an empty output as (N·C, OH, OW)) for the kernels."""
        x = np.ascontiguousarray(x, self.dtype)
        n, (c, h, w) = x.shape[0], self.in_shapes[0]
        *_, oh, ow = self.geo
        y = np.empty((n, c, oh, ow), self.dtype)
        return x.reshape(n * c, h, w), y

    def macs(self):
        c = self.in_shapes[0][0]
        kh, kw, *_, oh, ow = self.geo
        return c * oh * ow * kh * kw


@register
class MaxPool2D(_Pool2D):
    """Maximum over each window; the gradient flows to the chosen pixel only.

    Shape: (C, H, W) -> (C, OH, OW), OH = (H + 2·padding − kh) // stride + 1
    (ceil(H / stride) for "same").
    """

    type_name = "MaxPool2D"
    doc = "Keeps the largest value in each window"
    short_name = "MaxPool"

    def forward(self, p, xs, training):
        x3, y = self._planes(xs[0])
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        planes = x3.shape[0]
        self._arg = np.empty((planes, oh, ow), np.int32)
        k.pool_forward(x3, kh, kw, sh, sw, ph, pw, True, y.reshape(planes, oh, ow), self._arg)
        return y

    def backward(self, p, dy):
        planes = self._arg.shape[0]
        n = planes // self.in_shapes[0][0]
        dx = np.zeros((n,) + self.in_shapes[0], self.dtype)
        dy = np.ascontiguousarray(dy, self.dtype)
        k.max_backward(dy.reshape(planes, -1), self._arg.reshape(planes, -1),
                       dx.reshape(planes, -1))
        return [dx], {}


@register
class AvgPool2D(_Pool2D):
    """Mean over each window, padded zeros included (PyTorch's count_include_pad=True).

    Shape: (C, H, W) -> (C, OH, OW), as MaxPool2D.
    """

    type_name = "AvgPool2D"
    doc = "Averages each window"
    short_name = "AvgPool"

    def forward(self, p, xs, training):
        x3, y = self._planes(xs[0])
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        k.pool_forward(x3, kh, kw, sh, sw, ph, pw, False, y.reshape(x3.shape[0], oh, ow),
                       NO_ARG)
        self._n = xs[0].shape[0]
        return y

    def backward(self, p, dy):
        kh, kw, sh, sw, ph, pw, oh, ow = self.geo
        c, h, w = self.in_shapes[0]
        planes = self._n * c
        dx = np.zeros((self._n, c, h, w), self.dtype)
        dy = np.ascontiguousarray(dy, self.dtype)
        k.avg_backward(dy.reshape(planes, oh, ow), kh, kw, sh, sw, ph, pw,
                       dx.reshape(planes, h, w))
        return [dx], {}


@register
class GlobalAvgPool2D(Layer):
    """Each channel's mean over all pixels: the usual bridge from features to a classifier.

    Shape: (C, H, W) -> (C,).
    """

    type_name = "GlobalAvgPool2D"
    family = "Convolution"
    doc = "Averages each channel over the whole image: (C, H, W) -> (C,)"

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        return (image_shape(cls.type_name, in_shapes[0])[0],)

    @classmethod
    def summary(cls, cfg):
        return "GlobalAvgPool"

    def forward(self, p, xs, training):
        x = xs[0]
        self._n = x.shape[0]
        c, h, w = self.in_shapes[0]
        return x.reshape(self._n, c, h * w).mean(axis=2, dtype=self.dtype)

    def backward(self, p, dy):
        c, h, w = self.in_shapes[0]
        dx = np.empty((self._n, c, h, w), self.dtype)
        dx[...] = (dy * self.dtype.type(1.0 / (h * w)))[:, :, None, None]
        return [dx], {}

    def macs(self):
        return int(np.prod(self.in_shapes[0]))


@register
class Upsample2D(Layer):
    """Nearest-neighbour upsampling: every pixel becomes a factor x factor block.

    Shape: (C, H, W) -> (C, H·fh, W·fw).
    """

    type_name = "Upsample2D"
    family = "Convolution"
    doc = "Enlarges the image by repeating pixels (nearest neighbour)"
    params = (Param("factor", "size", 2, "how many times larger: an int or [fh, fw]",
                    min=1, max=16),)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        c, h, w = image_shape(cls.type_name, in_shapes[0])
        fh, fw = pair(cfg["factor"])
        return (c, h * fh, w * fw)

    @classmethod
    def summary(cls, cfg):
        fh, fw = pair(cfg["factor"])
        return f"Upsample x{fh}" if fh == fw else f"Upsample x{fh}x{fw}"

    def forward(self, p, xs, training):
        x = np.ascontiguousarray(xs[0], self.dtype)
        n, (c, h, w) = x.shape[0], self.in_shapes[0]
        fh, fw = pair(self.cfg["factor"])
        y = np.empty((n,) + self.out_shape, self.dtype)
        k.upsample_forward(x.reshape(n * c, h, w), fh, fw, y.reshape(n * c, h * fh, w * fw))
        self._n = n
        return y

    def backward(self, p, dy):
        n, (c, h, w) = self._n, self.in_shapes[0]
        fh, fw = pair(self.cfg["factor"])
        dy = np.ascontiguousarray(dy, self.dtype)
        dx = np.empty((n, c, h, w), self.dtype)
        k.upsample_backward(dy.reshape(n * c, h * fh, w * fw), fh, fw, dx.reshape(n * c, h, w))
        return [dx], {}
