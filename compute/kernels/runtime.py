"""Process-wide runtime settings the kernels rely on (the allocator, BLAS threading), and
the reports of Numba compiling them.

They are not kernels but they decide how fast kernels run: a step's fresh arrays should
not page-fault again on every step, and the small GEMMs that Numba kernels call inside
their loops must not start BLAS threads of their own (issue 6). Both are idempotent and
harmless where they do not apply (another libc, no SciPy).
"""
from __future__ import annotations

import ctypes
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from numba.core import event


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks for reuse instead of returning them to the system.

    By default blocks from 128 KiB (rising to the largest freed, up to 32 MiB) are mapped
    and unmapped per allocation, and the heap top is trimmed, so every training step's
    fresh activations page-fault again (a 4 MB array: a thousand faults, the time of a
    small convolution). The peak memory is the same; it is just not given back between
    steps. A no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 << 20)        # glibc's maximum on 64 bits
        libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        pass


_isolated = False


def isolate_kernel_blas() -> None:
    """Make the BLAS that Numba kernels call (SciPy's) single-threaded, once per process.

    The recurrent time loop calls ``np.dot`` on small per-step products (64×128 by
    128×512): too small to share, and letting that BLAS start threads of its own made the
    recurrent workloads 3-4x slower on 2 cores. Only a library inside SciPy's own folder is
    touched, so NumPy's BLAS (the big GEMMs of every layer) keeps its threads; where both
    share one library nothing changes.
    """
    global _isolated
    if _isolated:
        return
    _isolated = True
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (what Numba loads for np.dot)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    home = os.path.dirname(scipy.__file__)
    for lib in ThreadpoolController().lib_controllers:
        if lib.user_api == "blas" and os.path.realpath(lib.filepath).startswith(home):
            lib.set_num_threads(1)


@contextmanager
def compile_reports(report: Callable[[str], None]) -> Iterator[None]:
    """Within the block, call `report(kernel_name)` whenever Numba starts compiling a
    kernel, on the compiling thread.

    Numba announces only real compilations ("numba:compile" fires on cache misses, not
    when a kernel is loaded from its cache), so this reports exactly the first-run cost
    that a window or terminal must explain while it lasts (issue 6).
    """
    listener = _CompileListener(report)
    event.register("numba:compile", listener)
    try:
        yield
    finally:
        event.unregister("numba:compile", listener)


class _CompileListener(event.Listener):
    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report

    def on_start(self, ev) -> None:
        dispatcher = (ev.data or {}).get("dispatcher")
        self.report(getattr(dispatcher, "__name__", None) or str(dispatcher))

    def on_end(self, ev) -> None:
        pass
