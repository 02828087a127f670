"""Our kernels' cache (`runtime.use_kernel_cache`): loads without Numba's full refresh,
saves under a lock.

Each case runs in fresh processes sharing an empty cache folder: the first compiles and
fills it, the second loads from it. Both must compute the same, and only the second may
skip the refresh (whose imports include ``numba.np.arraymath``).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CODE = r"""
import json, sys
import numpy as np
from compute.kernels.optim import momentum
from compute.kernels.packed import weights
from compute.kernels.recurrent import rnn_forward
from compute.kernels.stats import sum_squares

rng = np.random.default_rng(0)
p, g, v = (rng.standard_normal(7).astype(np.float32) for _ in range(3))
momentum(p, g, v, np.float32(0.1), np.float32(0.9))
ys = []
for dtype in (np.float32, np.float64):       # float32: the packed tiles; float64: np.dot,
    xp = (0.5 * rng.standard_normal((5, 3, 20))).astype(dtype)  # Numba's BLAS helpers
    Wh = (0.1 * rng.standard_normal((20, 20))).astype(dtype)
    y, hprev = np.zeros((5, 3, 20), dtype), np.zeros((5, 3, 20), dtype)
    rnn_forward(xp, weights(Wh), y, hprev)
    ys.append(y.astype(np.float32))
ys = np.concatenate(ys)
refreshed = "numba.np.arraymath" in sys.modules

from numba import njit                       # a real compilation after light loads

@njit(cache=False)
def mean_abs(a):
    return np.abs(a).mean()


@njit(cache=False)
def calls_a_loaded_kernel(a):                # links the code loaded from the cache
    return sum_squares(a.ravel()) + 1.0

print(json.dumps({"refreshed": refreshed, "p": p.tolist(), "v": v.tolist(),
                  "ys": ys.ravel().tolist(), "sum_squares": float(sum_squares(ys.ravel())),
                  "mean_abs": float(mean_abs(ys)),
                  "calls": float(calls_a_loaded_kernel(ys))}))
"""


def run(cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cached_kernels_load_without_the_refresh_and_compute_the_same(tmp_path):
    compiled = run(tmp_path)
    assert any(tmp_path.rglob("*.nbi")), "the first run should have filled the cache"
    loaded = run(tmp_path)
    assert compiled["refreshed"] is True       # compiling refreshes, as Numba always does
    assert loaded["refreshed"] is False        # loading did not
    for key in ("p", "v", "ys", "sum_squares", "mean_abs", "calls"):
        np.testing.assert_array_equal(loaded[key], compiled[key], err_msg=key)
    ys = np.array(loaded["ys"])
    assert np.all(np.abs(ys) < 1) and np.any(ys != 0)   # tanh of real sums
    assert abs(loaded["mean_abs"] - np.abs(ys).mean()) < 1e-6
    assert loaded["calls"] == loaded["sum_squares"] + 1.0


def test_only_our_kernels_load_lightly():
    """Another package's cached function keeps Numba's own loader."""
    from numba import njit
    from numba.core.caching import FunctionCache

    from compute.kernels import runtime
    from compute.kernels.stats import sum_squares

    @njit(cache=True)
    def elsewhere(a):           # never called: nothing compiles or lands in a cache
        return a.sum()

    assert type(elsewhere._cache) is FunctionCache
    assert type(sum_squares._cache) is runtime._kernel_cache_class()
    assert issubclass(type(sum_squares._cache), FunctionCache)


LOCK_CODE = r"""
import fcntl, json, os, threading
from numba import njit
from compute.kernels.runtime import use_kernel_cache

def plus_one(a):
    return a + 1

kernel = njit(cache=True)(plus_one)
use_kernel_cache(kernel)
cache = kernel._cache
asked, saving, either = threading.Event(), threading.Event(), threading.Event()
locked, save = cache.locked, cache._save_overload

def asking():                  # the save is about to take the lock
    asked.set()
    either.set()
    return locked()

def saving_now(sig, data):     # the save holds the lock
    saving.set()
    either.set()
    save(sig, data)

cache.locked, cache._save_overload = asking, saving_now
index = cache._cache_file._index_path
os.makedirs(os.path.dirname(index), exist_ok=True)
with open(os.path.splitext(index)[0] + ".lock", "a") as held:
    fcntl.flock(held, fcntl.LOCK_EX)             # another process's save, say
    worker = threading.Thread(target=kernel, args=(1.0,))
    worker.start()
    assert either.wait(120), "the kernel never got to saving"
    saving.wait(0.5)
    while_held = {"asked": asked.is_set(), "saving": saving.is_set(),
                  "index": os.path.exists(index)}
worker.join(60)
print(json.dumps({"while_held": while_held, "saved": os.path.exists(index),
                  "done": not worker.is_alive()}))
"""


def test_a_kernel_saves_to_the_cache_only_under_its_lock(tmp_path):
    """Numba's index update (read, add the signature, write) must not interleave with
    another process's: our saves wait for the kernel's lock file."""
    script = tmp_path / "locking.py"            # Numba caches functions of files only
    script.write_text(LOCK_CODE)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["while_held"] == {"asked": True, "saving": False, "index": False}
    assert found["done"] and found["saved"]


STALE_CODE = r"""
import json
import numpy as np
from compute.kernels.packed import weights
from compute.kernels.recurrent import rnn_forward
from compute.kernels.runtime import compile_reports

compiled = []
with compile_reports(compiled.append):
    x, w = np.ones((1, 2, 16), np.float32), weights(np.eye(16, dtype=np.float32))
    rnn_forward(x, w, np.empty((1, 2, 16), np.float32), np.empty((1, 2, 16), np.float32))
print(json.dumps(compiled))
"""


def test_a_change_to_any_kernel_source_makes_every_cached_kernel_stale(tmp_path):
    """rnn_forward (recurrent.py) calls packed.py's product: editing packed.py must
    compile it again, though Numba itself checks only recurrent.py's time and size."""
    import shutil

    shutil.copytree(ROOT / "compute", tmp_path / "compute",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(tmp_path)}

    def compiled() -> list[str]:
        out = subprocess.run([sys.executable, "-c", STALE_CODE], capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert "rnn_forward" in compiled()
    assert compiled() == []                     # all loaded from the cache
    packed = tmp_path / "compute" / "kernels" / "packed.py"
    packed.write_text(packed.read_text() + "\n# changed\n")
    assert "rnn_forward" in compiled()


def test_the_sources_stamp_follows_every_kernel_file(tmp_path):
    from compute.kernels import runtime
    from compute.kernels.stats import sum_squares

    assert sum_squares._cache._cache_file._source_stamp == runtime.sources_stamp()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not a source\n")
    before = runtime.sources_stamp(str(tmp_path))
    assert [entry[0] for entry in before] == ["a.py"]
    (tmp_path / "a.py").write_text("x = 12\n")
    assert runtime.sources_stamp(str(tmp_path)) != before
