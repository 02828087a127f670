"""Process-wide runtime settings the kernels rely on (the allocator, BLAS threading), and
the reports of Numba compiling them.

They are not kernels but they decide how fast kernels run: a step's fresh arrays should
not page-fault again on every step, the small GEMMs that Numba kernels call inside their
loops must not start BLAS threads of their own, and NumPy's BLAS threads only models
that do no parallel work of their own (issue 6; `threads` says why). All are harmless
where they do not apply (another libc, no SciPy, no threadpoolctl).
"""
from __future__ import annotations

import ctypes
import functools
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


_BLAS_MODULE = "scipy.linalg.cython_blas"


def load_scipy_blas_alone() -> None:
    """Load SciPy's BLAS bindings, ``scipy.linalg.cython_blas``, without the package
    import of ``scipy.linalg``.

    Numba imports the bindings on its first compile or cache load in a process (for
    ``np.dot``), and Python imports a submodule's package first: all of scipy.linalg and,
    through SciPy's array-API layer, NumPy's f2py and testing packages, 0.2-0.4 s of every
    start here (the warm start's budget is 1 s). Registered under its own name, the
    extension is found by every later ``import scipy.linalg.cython_blas`` (Numba's too),
    and a later ``import scipy.linalg`` runs as usual and gets it as its attribute
    (`_AdoptBlas`). Where anything differs (no SciPy, another layout, a loading error),
    nothing is changed.
    """
    if _BLAS_MODULE in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        import importlib.machinery
        import importlib.util

        import scipy

        folder = os.path.join(os.path.dirname(scipy.__file__), "linalg")
        paths = [os.path.join(folder, "cython_blas" + suffix)
                 for suffix in importlib.machinery.EXTENSION_SUFFIXES]
        path = next(p for p in paths if os.path.exists(p))
        spec = importlib.util.spec_from_file_location(_BLAS_MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_BLAS_MODULE] = module
        spec.loader.exec_module(module)
    except Exception:           # StopIteration, ImportError, OSError...: Numba's way then
        sys.modules.pop(_BLAS_MODULE, None)
        return
    sys.meta_path.insert(0, _AdoptBlas())


class _AdoptBlas:
    """An import hook, once: when scipy.linalg is imported, it gets the bindings loaded
    by `load_scipy_blas_alone` as its ``cython_blas`` attribute (Python sets a package's
    attribute only for submodules it imports itself)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "scipy.linalg":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module) -> None:
            run(module)
            if _BLAS_MODULE in sys.modules:
                module.cython_blas = sys.modules[_BLAS_MODULE]
        spec.loader.exec_module = exec_module
        return spec


def use_kernel_cache(dispatcher) -> None:
    """Give the kernel `dispatcher` our cache: it loads cached machine code without
    first loading everything Numba can compile, and saves under a lock.

    Loading: before each cache load Numba "refreshes" its target context: it imports and
    registers the implementations of every function it can compile (NumPy's, the typed
    containers', random's...), 0.35-0.5 s here, about a third of the warm start (issue 6:
    1 s to the first step). Code loaded from the cache needs none of that, only Numba's
    runtime (NRT) and its C helpers, which the target context installs as it is made. So
    these loads initialise just the runtime; the first real compilation still refreshes
    as usual, in Numba's compiler. This holds for our kernels, which are numeric (arrays,
    numbers, tuples), and is applied only to them: code that hashed strings, for one,
    would need symbols that the refresh's imports install.

    Saving: Numba reads a kernel's index, adds the new signature under the first free
    data-file name and writes both back, with no lock. Two processes compiling two
    signatures of one kernel at once (`compute.prepare`'s workers, two windows' runs)
    could both pick the same file, leaving the index pointing the one signature at the
    other's machine code. Our saves hold an exclusive lock on the kernel's lock file
    around all of it (POSIX; elsewhere Numba's unlocked save).

    Staleness: Numba keeps a kernel's cache while the kernel's own source file keeps its
    time and size, but our kernels call kernels of other files (`arrays`, `packed`), whose
    changes it would miss. Our kernels' entries carry the stamp of every kernel source
    instead (`sources_stamp`): a change to any of them compiles them all again.

    Where Numba's cache is not the one this was written for, nothing changes.
    """
    ours = _kernel_cache_class()
    if ours is not None and type(getattr(dispatcher, "_cache", None)) is ours.__base__:
        dispatcher._cache.__class__ = ours
        cache_file = getattr(dispatcher._cache, "_cache_file", None)
        if hasattr(cache_file, "_source_stamp"):
            cache_file._source_stamp = _kernels_stamp()


KERNELS = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def _kernels_stamp() -> tuple:
    """The kernel sources' stamp, read once per process (every kernel asks at import)."""
    return sources_stamp()


def sources_stamp(folder: str = KERNELS) -> tuple:
    """(name, modification time, size) of every kernel source file in `folder`."""
    names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
    return tuple((n, *_time_and_size(os.path.join(folder, n))) for n in names)


def _time_and_size(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


@functools.cache
def _kernel_cache_class() -> type | None:
    """Numba's FunctionCache with the light `load_overload` and the locked
    `save_overload`; None where it differs."""
    try:
        from numba.core.caching import FunctionCache
        from numba.core.runtime.nrt import rtsys
    except ImportError:
        return None
    if not all(hasattr(FunctionCache, name) for name in
               ("load_overload", "_load_overload", "save_overload", "_save_overload",
                "_guard_against_spurious_io_errors")):
        return None

    class KernelCache(FunctionCache):
        def load_overload(self, sig, target_context):
            rtsys.initialize(target_context)            # instead of target_context.refresh()
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)

        def save_overload(self, sig, data):
            with self._guard_against_spurious_io_errors(), self.locked():
                self._save_overload(sig, data)

        @contextmanager
        def locked(self) -> Iterator[None]:
            """Hold this kernel's cache lock (released when the file closes, also when
            the process dies)."""
            try:
                import fcntl
                index = self._cache_file._index_path
            except (ImportError, AttributeError):       # not POSIX, or another Numba
                yield
                return
            self._impl.locator.ensure_cache_path()
            with open(os.path.splitext(index)[0] + ".lock", "a") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                yield
    return KernelCache


class _Blas:
    """The BLAS libraries of NumPy (its GEMMs) and of SciPy (what Numba kernels call for
    ``np.dot``), found once with threadpoolctl; empty where it or SciPy is missing."""

    def __init__(self) -> None:
        self.numpy: list = []
        self.scipy: list = []
        try:
            import numpy
            import scipy
            import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return
        for lib in ThreadpoolController().lib_controllers:
            if lib.user_api != "blas":
                continue
            path = os.path.realpath(lib.filepath)
            for mod, found in ((numpy, self.numpy), (scipy, self.scipy)):
                home = os.path.join(os.path.dirname(os.path.dirname(mod.__file__)),
                                    mod.__name__)       # numpy/ and numpy.libs/
                if path.startswith(home):
                    found.append(lib)
        self.scipy = [lib for lib in self.scipy if lib not in self.numpy]
        self.initial = self.numpy[0].num_threads if self.numpy else 1


_blas: _Blas | None = None


def blas_found() -> bool:
    """Whether `numpy_blas_threads` ran (and may have changed something) already."""
    return _blas is not None


def numpy_blas_threads(n: int | None) -> None:
    """Set the threads of NumPy's BLAS (None: as many as it had at first), and make
    SciPy's single-threaded.

    SciPy's serves ``np.dot`` inside kernels: the recurrent time loop's small per-step
    products off float32 (float32 takes `packed.product`), too small to share: letting it
    start threads made the recurrent workloads 3-4x slower on 2 cores. NumPy's serves the
    layers' GEMMs; a model whose layers run parallel work of their own sets it to 1 while
    it runs (`threads.engage` says why).
    Other libraries (PyTorch's, say) are left alone.
    """
    global _blas
    if _blas is None:
        _blas = _Blas()
    n = _blas.initial if n is None else n
    # read each time (a C call): a threadpoolctl limit elsewhere may have changed them
    for libs, want in ((_blas.numpy, n), (_blas.scipy, 1)):
        for lib in libs:
            if lib.num_threads != want:
                lib.set_num_threads(want)


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
