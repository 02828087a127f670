"""Numba kernels: pure functions on arrays, no layer state (STYLE.md lesson 1).

Every kernel is compiled with ``cache=True`` so a warm start costs no compilation.
"""
from numba import njit

# the options every kernel shares; parallel kernels add parallel=True themselves
JIT = dict(cache=True, nogil=True, fastmath=True)


def kernel(fn=None, **extra):
    """Decorator: ``@kernel`` compiles with the project's shared Numba options."""
    opts = {**JIT, **extra}
    if fn is None:
        return lambda f: njit(**opts)(f)
    return njit(**opts)(fn)
