"""Copying between arrays inside kernels, element by element.

NumPy-style slice assignment of one array to another (``a[:, t, :] = h``) makes Numba
compile, once per process, the shape-mismatch error it may raise: string formatting
and all, 3.5-4 s of a cold start (a third of the LSTM's). These loops compile in
milliseconds and run as fast.
"""
from . import kernel


@kernel
def copy_row(dst, src):
    """dst[:] = src for 1-D arrays of one length."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@kernel
def copy_rows(dst, src):
    """dst[:, :] = src for 2-D arrays of one shape (any strides)."""
    for n in range(src.shape[0]):
        copy_row(dst[n], src[n])


@kernel
def add_rows(dst, src):
    """dst[:, :] += src for 2-D arrays of one shape (any strides)."""
    for n in range(src.shape[0]):
        d, s = dst[n], src[n]
        for i in range(s.shape[0]):
            d[i] += s[i]
