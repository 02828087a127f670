"""Sliding-window geometry shared by the convolution and pooling layers: sizes, padding,
output shapes, and the errors that say what to change when a window does not fit.
"""
from __future__ import annotations

import math
from typing import Any

from ..errors import ShapeError
from .base import Shape
from .core import fmt

PADDING_HELP = ('"valid" (none), "same" (output ceil(H/stride); an odd total pads one more '
                'at the bottom/right) or zeros added on every side')


def pair(v: Any) -> tuple[int, int]:
    """An int or a pair as (height, width)."""
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv_out(size: int, k: int, s: int, padding: int | str) -> tuple[int, int]:
    """(output size, padding before) along one axis; the output is < 1 when k does not fit."""
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2
    p = 0 if padding == "valid" else int(padding)
    return (size + 2 * p - k) // s + 1, p


def padded(size: int, padding: int | str) -> int:
    return size + 2 * padding if isinstance(padding, int) else size


def image_shape(type_name: str, s: Shape) -> Shape:
    """The (C, H, W) input, or a ShapeError that says which Reshape would fix it."""
    if len(s) == 3:
        return s
    hint = ""
    if len(s) == 1 and math.isqrt(s[0]) ** 2 == s[0]:
        r = math.isqrt(s[0])
        hint = f" (e.g. to [1, {r}, {r}])"
    elif len(s) == 2:
        hint = f" (e.g. to [1, {s[0]}, {s[1]}])"
    raise ShapeError(f'"{{node}}" ({type_name}) needs images (C, H, W), but "{{source}}" '
                     f'gives {fmt(s)}: insert a Reshape between {{source}} and {{node}}{hint}')


def window_geometry(type_name: str, what: str, hw: tuple[int, int], ksize: tuple[int, int],
                    stride: tuple[int, int], padding: int | str) -> tuple[int, ...]:
    """(kh, kw, sh, sw, ph, pw, oh, ow) of a sliding window; ShapeError if it does not fit."""
    (h, w), (kh, kw), (sh, sw) = hw, ksize, stride
    oh, ph = conv_out(h, kh, sh, padding)
    ow, pw = conv_out(w, kw, sw, padding)
    if oh < 1 or ow < 1:
        pad = "" if padding in ("valid", 0) else \
            f" (padded: {padded(h, padding)}x{padded(w, padding)})"
        raise ShapeError(f'"{{node}}" ({type_name}): the {kh}x{kw} {what} is larger than its '
                         f'{h}x{w} input{pad}; use a smaller {what}, more padding or '
                         f'padding "same"')
    return kh, kw, sh, sw, ph, pw, oh, ow


def short_geometry(cfg: dict[str, Any], ksize: str = "kernel_size") -> str:
    """'3x3 s1 same' for node faces."""
    kh, kw = pair(cfg[ksize])
    sh, sw = pair(cfg["stride"])
    stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
    pad = cfg["padding"]
    pad = pad if isinstance(pad, str) else f"p{pad}"
    return f"{kh}x{kw} {stride} {pad}"
