"""The engine's own threads: work split in parts over a small pool, and GEMMs split so.

Each part runs a `nogil` kernel or a NumPy call that releases the GIL, so the parts run
at the same time; part 0 runs on the calling thread.

Who splits a model's GEMMs depends on its layers (`engage`). OpenBLAS's idle workers spin
for about 0.1 s after every multi-threaded call, so while a model trains one core is
always busy spinning. For GEMM-bound models (MLPs, LeNet's im2col convolutions) that is
what makes BLAS's own threading fast: a worker that spins starts at once, where waking a
sleeping thread costs about 0.1 ms here (a VM). But a model whose layers run parallel
work of their own (the recurrent time loop split over the batch, the direct 3x3 conv
kernels) would fight the spinning thread for its core: an LSTM time loop split over two
threads ran 2x slower right after a two-thread GEMM than on its own. Such a model keeps
NumPy's BLAS single-threaded and splits its large GEMMs itself (`matmul`), over threads
that sleep while idle. Measured on 2 cores with the benchmark's fair pauses: the residual
CNN 0.63x -> 1.0x PyTorch, the LSTM 0.7x -> 0.9x; the MLP stayed at 1.3-1.4x only with
BLAS's own threads (0.9-1.0x split here).

The kernels that take a range (conv and pool layouts, the direct convolutions) run
through `split` whatever the model: one part per thread where the work is large enough,
else one call on this thread. The recurrent time loop splits only under a model that
splits its own work.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numba
import numpy as np

from .runtime import blas_found, numpy_blas_threads

# below these a kernel or a GEMM stays on one thread: handing a part to a worker costs
# 30-150 µs (waking a sleeping thread on a VM); 2^18 elements copied or 2^20 BLAS
# multiply-adds take about 100 µs on one core
SPLIT_WORK = 1 << 18
SPLIT_MACS = 1 << 20

_own = False        # whether the running model splits its GEMMs itself (`engage`)
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_pid = 0


def count() -> int:
    """Threads the engine may use: Numba's setting (NUMBA_NUM_THREADS, or
    `numba.set_num_threads` on the calling thread)."""
    return numba.get_num_threads()


def engage(own: bool, kernel_blas: bool = False) -> None:
    """Before a model runs: `own` (its layers run parallel work of their own) makes
    NumPy's BLAS single-threaded and `matmul` split large products over this module's
    threads; otherwise BLAS keeps its threads and `matmul` leaves the splitting to it.
    `kernel_blas`: its kernels call BLAS (SciPy's, made single-threaded). Where neither
    applies and nothing was changed before, BLAS is not even looked for (threadpoolctl
    takes about 0.1 s of a start)."""
    global _own
    if own or kernel_blas or blas_found():
        numpy_blas_threads(1 if own else None)
    _own = own


def _workers(n: int) -> ThreadPoolExecutor:
    """The pool, made on first use, again when more threads are allowed, and again in a
    forked child (a fork copies the pool but not its threads: work sent there would wait
    forever)."""
    global _pool, _pool_size, _pool_pid
    with _lock:
        if _pool is None or _pool_size < n or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(n, thread_name_prefix="netwright")
            _pool_size, _pool_pid = n, os.getpid()
        return _pool


def bounds(n: int, parts: int, i: int) -> slice:
    """The i-th of `parts` nearly equal slices of range(n)."""
    return slice(n * i // parts, n * (i + 1) // parts)


def run_parts(part: Callable[[int], object], parts: int) -> None:
    """Call part(0), …, part(parts - 1) at the same time, part 0 on this thread; return
    when all have finished, raising the first error (this thread's first)."""
    if parts <= 1:
        part(0)
        return
    pool = _workers(parts - 1)
    futures = [pool.submit(part, i) for i in range(1, parts)]
    try:
        part(0)
    finally:
        errors = [f.exception() for f in futures]      # waits for every part
    for e in errors:
        if e is not None:
            raise e


def parts_for(n: int, work: int, min_work: int | None = None, own_only: bool = False) -> int:
    """How many parts to split n items into: one unless `work` (elements or multiply-adds
    in all) reaches `min_work` (SPLIT_WORK), and with `own_only` unless the running model
    splits its own work (`engage`); else one per thread, at most n."""
    enough = work >= (SPLIT_WORK if min_work is None else min_work)
    return max(1, min(count(), n)) if enough and (_own or not own_only) else 1


def split(n: int, work: int, part: Callable[[int, int], object], **when) -> None:
    """Run part(lo, hi) over `parts_for(n, work, **when)` runs of range(n) at once."""
    parts = parts_for(n, work, **when)

    def run(i: int) -> None:
        r = bounds(n, parts, i)
        part(r.start, r.stop)
    run_parts(run, parts)


def over(n: int, work: int, kernel: Callable[..., object], *args) -> None:
    """kernel(*args, lo, hi) over runs of range(n) at once, as `split` decides: how the
    kernels that take a range of their outer loop run on the engine's threads."""
    split(n, work, lambda lo, hi: kernel(*args, lo, hi))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for 2-D arrays (into `out` if given); under a model that splits its own work
    (`engage`), split over the engine's threads along the longer side of the result when
    it is large enough."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))
    parts = count() if _own and m * n * k >= SPLIT_MACS else 1
    if parts <= 1:
        return np.matmul(a, b, out=out)
    if m >= n:
        run_parts(lambda i: np.matmul(a[bounds(m, parts, i)], b,
                                      out=out[bounds(m, parts, i)]), parts)
    else:
        run_parts(lambda i: np.matmul(a, b[:, bounds(n, parts, i)],
                                      out=out[:, bounds(n, parts, i)]), parts)
    return out
