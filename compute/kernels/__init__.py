"""Numba kernels: pure functions on arrays, no layer state (STYLE.md lesson 1).

Every kernel is compiled with ``cache=True`` so a warm start costs no compilation. No
kernel is ``parallel=True``: such kernels took 5-15 s each to compile. Kernels worth
running on several threads take a range of their outer loop instead, and `threads`
runs the ranges at once (they are ``nogil``).
"""
from numba import njit

from .runtime import load_scipy_blas_alone, use_kernel_cache

load_scipy_blas_alone()     # before any kernel loads: 0.2-0.4 s less of every start

# the options every kernel shares; error_model="numpy": a division by zero gives inf/nan
# (reported as divergence by the trainer) instead of raising, and lets LLVM vectorise
# loops with divisions
JIT = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")


def kernel(fn=None, **extra):
    """Decorator: ``@kernel`` compiles with the project's shared Numba options (on first
    call), loads from Numba's cache without its full refresh and saves to it under a lock
    (`runtime.use_kernel_cache`)."""
    opts = {**JIT, **extra}

    def jit(f):
        dispatcher = njit(**opts)(f)
        use_kernel_cache(dispatcher)
        return dispatcher
    return jit if fn is None else jit(fn)


_warm = False


def warm_up() -> None:
    """Pay the engine's one-time start-up, holding the GIL: Numba's (its runtime, the
    LLVM code generator: about 0.2 s), by calling one tiny cached kernel,
    and finding the BLAS libraries (threadpoolctl: about 0.1 s). The designer does this
    as its window opens, so that the first training step does not freeze it."""
    global _warm
    if not _warm:
        import numpy as np

        from .runtime import numpy_blas_threads
        from .stats import sum_squares

        sum_squares(np.zeros(1, np.float32))
        numpy_blas_threads(None)
        _warm = True
