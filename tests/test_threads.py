"""The engine's own threads (compute/kernels/threads.py): parts run at the same time and
report their errors, split GEMMs equal NumPy's, and layers that split their work (the
recurrent time loop over the batch, GEMMs, the conv and pool kernels over rows, planes
or images) give the same values and correct gradients split as whole.

Splitting is forced with a tiny threshold and three parts, so it is tested on any
machine, whatever its number of cores.
"""
import threading

import numpy as np
import pytest

from compute.kernels import threads
from compute.kernels.runtime import numpy_blas_threads
from tests.harness import Case, check_gradients, forward_backward


def force_split(monkeypatch):
    """Split everything, in three parts, as under a model that splits its own work."""
    monkeypatch.setattr(threads, "SPLIT_MACS", 1)
    monkeypatch.setattr(threads, "SPLIT_WORK", 1)
    monkeypatch.setattr(threads, "count", lambda: 3)
    monkeypatch.setattr(threads, "_own", True)
    splits = []
    run_parts = threads.run_parts
    monkeypatch.setattr(threads, "run_parts",
                        lambda part, parts: (splits.append(parts), run_parts(part, parts)))
    return splits


@pytest.fixture
def split(monkeypatch):
    return force_split(monkeypatch)


def test_parts_run_concurrently_with_part_zero_here(split):
    here = threading.get_ident()
    seen, barrier = {}, threading.Barrier(3, timeout=10)

    def part(i):
        seen[i] = threading.get_ident()
        barrier.wait()          # only passes if all three run at the same time

    threads.run_parts(part, 3)
    assert sorted(seen) == [0, 1, 2]
    assert seen[0] == here and len(set(seen.values())) == 3


def test_a_failing_part_raises_after_every_part_finished(split):
    done = []

    def part(i):
        if i == 1:
            raise ValueError("part 1 failed")
        threading.Event().wait(0.05)
        done.append(i)

    with pytest.raises(ValueError, match="part 1 failed"):
        threads.run_parts(part, 3)
    assert sorted(done) == [0, 2]

    def first_fails(i):
        if i == 0:
            raise KeyError("here")
        done.append(i)

    with pytest.raises(KeyError):
        threads.run_parts(first_fails, 3)


def test_a_forked_child_gets_threads_of_its_own(split):
    """A fork copies the pool but not its threads: work the child sent there would wait
    forever. The child makes a pool of its own."""
    import os
    import signal
    import time

    threads.run_parts(lambda i: time.sleep(0.05), 3)    # the parent's two workers exist
    pid = os.fork()
    if pid == 0:                                    # the child: exit 0 once its parts ran
        done = []
        threads.run_parts(done.append, 3)
        os._exit(0 if sorted(done) == [0, 1, 2] else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's parts never ran")


@pytest.mark.parametrize("m,k,n", [(7, 5, 3), (3, 5, 11), (1, 4, 1), (2, 3, 40), (40, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_matmul_equals_numpy(split, m, k, n, dtype):
    rng = np.random.default_rng(m * 100 + n)
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    want = a.astype(np.float64) @ b
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(threads.matmul(a, b), want, rtol=tol, atol=tol)
    # transposed operands (views), as the backward passes give them
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    np.testing.assert_allclose(threads.matmul(at.T, bt.T), want, rtol=tol, atol=tol)
    # into a given array, and into a column block of a larger one
    out = np.full((m, n), np.nan, dtype)
    assert threads.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    wide = np.full((m, n + 4), -1.0, dtype)
    threads.matmul(a, b, out=wide[:, 2:2 + n])
    np.testing.assert_allclose(wide[:, 2:2 + n], want, rtol=tol, atol=tol)
    assert (wide[:, :2] == -1).all() and (wide[:, 2 + n:] == -1).all()


def test_small_products_stay_on_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "run_parts", lambda *a: pytest.fail("split a tiny GEMM"))
    a = np.ones((4, 4), np.float32)
    np.testing.assert_array_equal(threads.matmul(a, a), np.full((4, 4), 4, np.float32))


def test_bounds_cover_the_range_once():
    for n in (0, 1, 5, 64):
        for parts in (1, 2, 3, 7):
            idx = np.concatenate([np.arange(n)[threads.bounds(n, parts, i)]
                                  for i in range(parts)])
            np.testing.assert_array_equal(idx, np.arange(n))


def blas_threads() -> dict[str, int]:
    from threadpoolctl import threadpool_info
    import os

    return {os.path.basename(os.path.dirname(i["filepath"])).split(".")[0]: i["num_threads"]
            for i in threadpool_info() if i["user_api"] == "blas"}


def test_a_model_that_splits_its_own_work_makes_blas_single_threaded():
    """NumPy's BLAS: one thread under a large LSTM, its first count again under an MLP
    (the rest of the process keeps its setting); SciPy's (inside kernels): always one."""
    import compute

    def model(layer, shape, units=4):
        g = compute.Graph()
        g.add_node("x", "Input", {"shape": list(shape)})
        g.add_node("h", layer, {"units": units})
        g.add_node("out", "Output", {"loss": "mse"})
        g.connect("x", "h")
        g.connect("h", "out")
        return compute.build_model(g)

    numpy_blas_threads(None)
    before = blas_threads()
    lstm, mlp = model("LSTM", (8, 2), units=256), model("Dense", (2,))
    assert lstm.splits_own_work and not mlp.splits_own_work
    assert not model("LSTM", (8, 2), units=8).splits_own_work     # too little work
    # np.dot inside its kernels (SciPy's BLAS, kept single-threaded) only off float32
    assert not lstm.kernels_call_blas and not mlp.kernels_call_blas
    g = compute.Graph()
    g.add_node("x", "Input", {"shape": [8, 2]})
    g.add_node("h", "GRU", {"units": 4})
    g.add_node("out", "Output", {"loss": "mse"})
    g.chain("x", "h", "out")
    assert compute.build_model(g, dtype=np.float64).kernels_call_blas
    lstm.forward(np.zeros((2, 8, 2), np.float32))
    assert blas_threads()["numpy"] == 1 and threads._own
    mlp.forward(np.zeros((2, 2), np.float32))
    assert blas_threads() == before and not threads._own
    assert before.get("scipy", 1) == 1


SPLIT_CASES = [
    Case("SimpleRNN", {"units": 3}, [(4, 2)], batch=5),
    Case("SimpleRNN", {"units": 3, "return_sequences": True}, [(3, 2)], batch=4),
    Case("LSTM", {"units": 3}, [(4, 2)], batch=5),
    Case("LSTM", {"units": 2, "return_sequences": True}, [(3, 3)], batch=4),
    Case("GRU", {"units": 3}, [(4, 2)], batch=5),
    Case("GRU", {"units": 2, "reset_gate": False, "return_sequences": True}, [(3, 3)],
         batch=4),
    Case("Dense", {"units": 4, "activation": "tanh"}, [(5,)], batch=4),
    Case("Conv2D", {"filters": 2, "kernel_size": 2, "padding": 1, "activation": "relu"},
         [(2, 5, 5)], batch=3),
    Case("Conv2D", {"filters": 2, "kernel_size": 2, "stride": 2}, [(1, 6, 6)], batch=3),
    Case("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "stride": 2}, [(2, 3, 3)],
         batch=3),
    Case("Conv2D", {"filters": 3, "kernel_size": 3, "padding": 1, "activation": "relu"},
         [(2, 5, 4)], batch=4),                                    # the direct kernels
    Case("Conv2D", {"filters": 2, "kernel_size": 5, "padding": 2, "activation": "relu"},
         [(2, 3, 16)], batch=4),
    Case("Conv2D", {"filters": 2, "kernel_size": 3}, [(3, 5, 5)], batch=3),
    Case("MaxPool2D", {"pool_size": 3, "stride": 2, "padding": 1}, [(2, 5, 5)], batch=3),
    Case("MaxPool2D", {}, [(3, 4, 4)], batch=2),
    Case("AvgPool2D", {"pool_size": 2, "padding": "same"}, [(2, 5, 3)], batch=3),
    Case("Upsample2D", {"factor": 2}, [(2, 3, 2)], batch=3),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=str)
def test_split_layers_equal_whole_layers(case, monkeypatch):
    whole = forward_backward(case)
    splits = force_split(monkeypatch)
    parted = forward_backward(case)
    assert max(splits, default=1) > 1, "nothing was split"
    np.testing.assert_allclose(parted[3], whole[3], rtol=1e-12, atol=1e-12)     # y
    for got, want in zip(parted[5], whole[5]):                                    # dx
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for name, want in whole[6].items():                                           # grads
        np.testing.assert_allclose(parted[6][name], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", SPLIT_CASES, ids=str)
def test_split_layers_gradients_match_finite_differences(case, split):
    check_gradients(case)


def test_blas_is_looked_for_only_where_a_model_needs_it():
    """A plain MLP leaves BLAS alone (finding it costs ~0.1 s of a start), and so does a
    float32 recurrent model (its kernels take `packed.product`); a float64 one, whose
    kernels call SciPy's BLAS, makes that one single-threaded."""
    import json
    import os
    import subprocess
    import sys

    code = """
import json, numpy as np, compute
from compute.kernels import runtime
def model(layer, shape, dtype=np.float32):
    g = compute.Graph()
    g.add_node("x", "Input", {"shape": list(shape)})
    g.add_node("h", layer, {"units": 4})
    g.add_node("out", "Output", {"loss": "mse"})
    g.connect("x", "h")
    g.connect("h", "out")
    return compute.build_model(g, dtype=dtype)
model("Dense", (3,)).forward(np.zeros((2, 3), np.float32))
model("SimpleRNN", (3, 2)).forward(np.zeros((2, 3, 2), np.float32))
print(runtime.blas_found())
model("SimpleRNN", (3, 2), np.float64).forward(np.zeros((2, 3, 2)))
print(json.dumps([runtime.blas_found(), [lib.num_threads for lib in runtime._blas.scipy]]))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = out.stdout.strip().splitlines()[-2:]
    assert first == "False"
    found, scipy_threads = json.loads(second)
    assert found is True and set(scipy_threads) <= {1}


def test_scipy_blas_loads_without_scipy_linalg_and_is_adopted_by_it_later():
    """Numba's BLAS bindings come without importing scipy.linalg (0.2-0.4 s of a start);
    recurrent kernels still reach BLAS through them, and a later `import scipy.linalg`
    works as usual with the same bindings as its attribute."""
    import json
    import subprocess
    import sys

    code = """
import json, sys, numpy as np, compute
from compute.layers.recurrent import SimpleRNN
layer = SimpleRNN("r", SimpleRNN.config({"units": 3}), [(4, 2)], np.float64)
p = layer.init_params(np.random.default_rng(0))
x = np.random.default_rng(1).normal(size=(2, 4, 2))
y = layer.forward(p, [x], True)
h = np.zeros((2, 3))
for t in range(4):                                   # the same recurrence in NumPy
    h = np.tanh(x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"])
before = ["scipy.linalg" in sys.modules, "numpy.f2py" in sys.modules]
import scipy.linalg
from scipy.linalg import cython_blas
print(json.dumps(before + [bool(np.allclose(y, h)),
                           scipy.linalg.cython_blas is sys.modules["scipy.linalg.cython_blas"],
                           cython_blas is scipy.linalg.cython_blas,
                           float(scipy.linalg.blas.dnrm2(np.array([3.0, 4.0])))]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, False, True, True,
                                                               True, 5.0]
