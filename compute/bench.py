"""Netwright against PyTorch on the CPU, side by side (issue 6).

Run by hand (never as a timed test): ``netwright-cli bench`` or
``python -m tests.benchmarks.bench_vs_torch``. Both sides run in the same process,
alternating block by block after a warm-up, restricted to the same thread count, in
float32, each step being forward + backward + an SGD-momentum update. PyTorch is a
test-only dependency, so it is imported here only when the benchmark runs.

Besides throughput it reports: process start to the first training step with a warm and
with an empty Numba cache (subprocesses, timed from before their start; with an empty
cache also every workload's first steps, in one process and after `compute.prepare`
compiled their kernels in parallel, as the window does at its first start); the peak memory of
each side (one subprocess per side: VmHWM while building and running the workload, over
the RSS after imports and a warm-up); the cost of the diagnostics, on every step and at
the trainer's default rate; the machine's float32 GEMM rate and the fraction of it that
the MLP reaches; and the issue's targets, met or missed. Timings on a machine shared with
other work are noisy: compare only ratios from one run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .bench_workloads import (WORKLOADS, Workload, import_torch, netwright_step,
                              torch_step)
from .prepare import EXAMPLES, first_project_step
from .processes import ROOT, child_env

SETTLE_S = 0.3       # pause before each timed block (see `alternate`)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS")
# -- threads and timing --------------------------------------------------------------------
def limit_threads(n: int):
    """Restrict PyTorch, BLAS/OpenMP (threadpoolctl) and Numba to n threads; keep the result."""
    import numba
    from threadpoolctl import threadpool_limits

    try:        # the BLAS that Numba kernels call (np.dot) is SciPy's, loaded lazily by Numba
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass
    torch = import_torch()
    torch.set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    return threadpool_limits(limits=n)


def thread_env(n: int, **extra: str) -> dict[str, str]:
    return child_env(**{v: str(n) for v in THREAD_VARS}, **extra)


def calibrate(step: Callable[[], None], seconds: float) -> int:
    """Warm up, then how many steps take about `seconds`."""
    for _ in range(3):
        step()
    n, t = 1, 0.0
    while t < seconds / 4:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        t = time.perf_counter() - t0
        if t < seconds / 4:
            n *= 2
    return max(1, int(n * seconds / max(t, 1e-9)))


def alternate(steps: dict[str, Callable[[], None]], repeats: int, seconds: float,
              per_step: int) -> dict[str, list[float]]:
    """Rates (per_step units per second) of each side, timed in alternating blocks.

    Each block starts after a pause: a BLAS's or OpenMP's idle threads spin for a while
    after their last call (OpenBLAS about 0.1 s), and one side's spinning threads must not
    take a core from the other side's block (this once made PyTorch look 20-40 % slower).
    """
    counts = {k: calibrate(f, seconds) for k, f in steps.items()}
    rates: dict[str, list[float]] = {k: [] for k in steps}
    names = list(steps)
    for r in range(repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            f, n = steps[k], counts[k]
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            rates[k].append(n * per_step / (time.perf_counter() - t0))
    return rates


@dataclass
class Row:
    title: str
    unit: str
    ours: list[float]
    theirs: list[float]
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.theirs)


def throughput(w: Workload, repeats: int, seconds: float, gemm: bool = False) -> Row:
    """Both sides' rates; with `gemm`, also the machine's float32 GEMM rate (GFLOP/s) in
    blocks alternated with theirs (row.extra["gemm"]): the MLP's share of it is measured
    at the same moments, not minutes apart on a machine whose speed moves by ±30 %."""
    per = 1 if w.unit == "steps/s" else w.batch
    steps = {"netwright": netwright_step(w), "pytorch": torch_step(w)}
    if gemm:
        steps["gemm"] = gemm_step()
    rates = alternate(steps, repeats, seconds, per)
    bad = [k for k, f in steps.items() if not getattr(f, "finite", lambda: True)()]
    row = Row(w.title, w.unit, rates["netwright"], rates["pytorch"])
    if gemm:
        row.extra["gemm"] = [r / per * steps["gemm"].gflop for r in rates["gemm"]]
    if bad:       # NaN/inf arithmetic runs at another speed: the numbers would mislead
        row.extra["warning"] = f"non-finite weights after the run: {', '.join(bad)}"
    return row


def gemm_step(n: int = 1024) -> Callable[[], None]:
    """One float32 n×n by n×n np.dot, under the current thread limits; .gflop per call."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)

    def step() -> None:
        np.dot(a, b, out=out)
    step.gflop = 2.0 * n ** 3 / 1e9
    return step


def diagnostics_cost(w: Workload, repeats: int, seconds: float) -> tuple[float, float]:
    """Extra time with diagnostics (a) on every step, as a fraction of the step, and (b) at
    the trainer's default rate (one diagnostic step in DIAGNOSTICS_EVERY).

    Both sides are ours and differ by microseconds on the tiny MLP, while this machine's
    speed drifts by tens of percent over seconds: so twice the blocks, half as long, and
    the median of the ratios of adjacent blocks (alternate runs them in pairs)."""
    from compute.training.trainer import DIAGNOSTICS_EVERY

    rates = alternate({"off": netwright_step(w), "on": netwright_step(w, diagnostics=True)},
                      2 * repeats + 1, seconds / 2, 1)
    per_step = statistics.median(a / b for a, b in zip(rates["off"], rates["on"])) - 1.0
    return per_step, per_step / DIAGNOSTICS_EVERY


def gemm_gflops(n: int = 1024, repeats: int = 7) -> float:
    """Best float32 np.dot rate (GFLOP/s) under the current thread limits."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    np.dot(a, b, out=out)
    best = min(_timed(lambda: np.dot(a, b, out=out)) for _ in range(repeats))
    return 2.0 * n ** 3 / best / 1e9


def _timed(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def dense_train_flops(w: Workload) -> float:
    """FLOPs per training sample of a dense stack (no input gradient for the first layer)."""
    sizes = [w.input_shape[-1]] + [s[1] for s in w.layers]
    macs = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2.0 * (3 * sum(macs) - macs[0])


# -- subprocess measurements ------------------------------------------------------------
def child(argv: Sequence[str]) -> int:
    """`--child KIND WORKLOAD SIDE`: one measurement in a fresh process, printed as JSON."""
    kind, key, side = argv
    keys = list(WORKLOADS) if key in ALL else key.split(",")
    if kind == "first-step" and key.startswith("example:"):
        path = EXAMPLES / f"{key.removeprefix('example:')}.netw"
        print(json.dumps({"done": first_project_step(path)}))
        return 0
    if kind == "first-step":
        if key == "prepared":
            from .prepare import Preparation

            jobs = int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1)
            failed = [o for o in Preparation([f"workload:{k}" for k in keys
                                              if not WORKLOADS[k].infer], jobs=jobs).run()
                      if o.error]
            if failed:
                raise RuntimeError(f"preparing {failed[0].specimen}: {failed[0].error}")
        for k in keys:
            (netwright_step if side == "netwright" else torch_step)(WORKLOADS[k])()
        print(json.dumps({"done": time.time()}))
        return 0
    make = netwright_step if side == "netwright" else torch_step
    warm = make(WORKLOADS["tiny"])          # the lazy imports and set-up of each side
    for _ in range(3):
        warm()
    del warm
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                        # VmHWM restarts from VmRSS (Linux >= 4.0)
    step = make(WORKLOADS[key])
    for _ in range(20):
        step()
    print(json.dumps({"base_kib": base, "peak_kib": _status_kib("VmHWM")}))
    return 0


def _status_kib(field: str) -> int:
    """A size from /proc/self/status: VmHWM (peak RSS of this process image; unlike
    ru_maxrss it is not inherited from the parent across exec) or VmRSS (now)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def _run_child(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-m", "compute.bench", "--child", *args], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result.get("done", t0) - t0, result


ALL = ("all", "prepared")     # every workload in one process; prepared in parallel first


def first_step_times(keys: list[str], threads: int, cold: bool) -> dict[str, dict]:
    """Seconds from process start to the first step, per workload and side. With `cold`,
    also to the first steps of every workload in turn: in one process ("all"), and after
    `compute.prepare` compiled their kernels on `threads` processes ("prepared", as
    `netwright-cli prepare` and the window's first start do)."""
    res = {}
    for k in keys + (list(ALL) if cold else []):
        row = {}
        ours_only = k in ALL or k.startswith("example:")       # PyTorch has no projects
        for side in (("netwright",) if ours_only else ("netwright", "pytorch")):
            with tempfile.TemporaryDirectory() as cache:
                env = thread_env(threads, **({"NUMBA_CACHE_DIR": cache} if cold else {}))
                if not cold:
                    # warm: Python's bytecode cache too, as pip writes it for an install
                    env.pop("PYTHONDONTWRITEBYTECODE", None)
                    _run_child(["first-step", k, side], env)       # fill the cache
                row[side] = _run_child(["first-step", k, side], env)[0]
        res[k] = row
    return res


def memory(keys: list[str], threads: int) -> dict[str, dict]:
    """Peak RSS (ru_maxrss) of each side in its own process, and its growth over the RSS
    measured after the imports."""
    res = {}
    for k in keys:
        res[k] = {side: _run_child(["memory", k, side], thread_env(threads))[1]
                  for side in ("netwright", "pytorch")}
    return res


# -- report ----------------------------------------------------------------------------
def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} logical CPUs"


def fmt_rate(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def print_rows(rows: list[Row]) -> None:
    print(f"{'workload':<32}{'unit':<10}{'netwright median (min-max)':>34}"
          f"{'pytorch median (min-max)':>34}{'ratio':>8}")
    for r in rows:
        cells = [f"{fmt_rate(statistics.median(v))} ({fmt_rate(min(v))}-{fmt_rate(max(v))})"
                 for v in (r.ours, r.theirs)]
        print(f"{r.title:<32}{r.unit:<10}{cells[0]:>34}{cells[1]:>34}{r.ratio:>7.2f}x")
        if "warning" in r.extra:
            print(f"  ^ {r.extra['warning']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    p = argparse.ArgumentParser(prog="netwright-cli bench", description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    p.add_argument("--repeats", type=int, default=7, help="timed blocks per side (default 7)")
    p.add_argument("--quick", action="store_true",
                   help="short blocks, 3 repeats, no cold-start or memory runs")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of: " + ", ".join(WORKLOADS))
    p.add_argument("--no-extras", action="store_true",
                   help="throughput only: no start-up, memory, diagnostics or GEMM runs")
    a = p.parse_args(argv)
    keys = [k.strip() for k in a.workloads.split(",") if k.strip()]
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    repeats, seconds = (3, 0.15) if a.quick else (a.repeats, 0.4)
    torch = import_torch()
    import numba

    limiter = limit_threads(a.threads)
    print(f"Netwright vs PyTorch {torch.__version__} (numpy {np.__version__}, numba "
          f"{numba.__version__}), {datetime.date.today()}, {machine()}, {a.threads} threads, "
          f"float32, forward + backward + SGD momentum; {repeats} alternating blocks of "
          f"~{seconds:g} s per side after warm-up\n")
    rows = []
    for k in keys:
        rows.append(throughput(WORKLOADS[k], repeats, seconds,
                               gemm=k == "mlp" and not a.no_extras))
        print(f"  {rows[-1].title}: {rows[-1].ratio:.2f}x", file=sys.stderr, flush=True)
    print_rows(rows)
    found = {} if a.no_extras else extras(keys, rows, a, repeats, seconds)
    print_targets(keys, rows, found)
    del limiter
    return 0


def extras(keys: list[str], rows: list[Row], a, repeats: int, seconds: float) -> dict:
    """Print GEMM rate, diagnostics cost, start-up times and memory; return them."""
    train = [k for k in keys if not WORKLOADS[k].infer]
    found: dict = {"gemm": gemm_gflops()}
    print(f"\nfloat32 GEMM (np.dot 1024^3, {a.threads} threads): best {found['gemm']:.1f} "
          "GFLOP/s")
    for r, k in zip(rows, keys):
        if k == "mlp" and "gemm" in r.extra:
            f = dense_train_flops(WORKLOADS[k])
            found["gemm"] = gemm = statistics.median(r.extra["gemm"])
            print(f"  in blocks alternated with the MLP's: median {gemm:.1f} GFLOP/s "
                  f"({min(r.extra['gemm']):.1f}-{max(r.extra['gemm']):.1f})")
            for side, v in (("netwright", r.ours), ("pytorch", r.theirs)):
                g = statistics.median(v) * f / 1e9
                found[f"mlp_{side}"] = g / gemm
                print(f"  MLP training, {side}: {g:.1f} GFLOP/s = {g / gemm:.0%} of it")
    print("\ndiagnostics (activation stats + gradient norms), extra time: on every step / at "
          "the trainer's default rate (one step in 10):")
    found["diag"] = {}
    for k in train:
        every, rate = found["diag"][k] = diagnostics_cost(WORKLOADS[k], repeats, seconds)
        print(f"  {WORKLOADS[k].title:<32}{every:+8.1%} / {rate:+.2%}")
    examples = [] if a.quick else [f"example:{p.stem}" for p in sorted(EXAMPLES.glob("*.netw"))]
    warm = found["warm"] = first_step_times(train + examples, a.threads, cold=False)
    cold = found["cold"] = {} if a.quick else first_step_times(train, a.threads, cold=True)
    print("\nprocess start to first training step, seconds (warm Numba cache / empty cache):")
    for k in train + (list(ALL) if cold else []) + examples:
        title = start_title(k, a.threads)
        w, c = warm.get(k, {}), cold.get(k, {})
        print(f"  {title:<32} netwright {w.get('netwright', float('nan')):6.2f} / "
              f"{c.get('netwright', float('nan')):6.2f}   pytorch "
              f"{w.get('pytorch', float('nan')):6.2f} / {c.get('pytorch', float('nan')):6.2f}")
    if a.quick:
        return found
    print("\npeak memory, MiB: peak RSS (VmHWM) while building and running 20 steps, and "
          "its growth over the RSS before (after imports and a few tiny-network steps), one "
          "process per side:")
    found["memory"] = {}
    for k, m in memory(train, a.threads).items():
        nw, th = m["netwright"], m["pytorch"]
        grow = [(s["peak_kib"] - s["base_kib"]) / 1024 for s in (nw, th)]
        # growths under 1 MiB (a few pages) are noise: both count as 1 MiB
        found["memory"][k] = max(grow[0], 1.0) / max(grow[1], 1.0)
        print(f"  {WORKLOADS[k].title:<32} netwright {nw['peak_kib'] / 1024:7.1f} "
              f"(+{grow[0]:.1f})   pytorch {th['peak_kib'] / 1024:7.1f} (+{grow[1]:.1f})   "
              f"growth ratio {found['memory'][k]:.2f}x")
    return found


def start_title(key: str, threads: int = 0) -> str:
    """How the start-up table names a workload, an example ("example:NAME") or ALL's."""
    if key in WORKLOADS:
        return WORKLOADS[key].title
    return {"all": "all workloads, one process",
            "prepared": f"all, prepared on {threads} processes"}.get(key, key)


def print_targets(keys: list[str], rows: list[Row], found: dict) -> None:
    """The issue's targets, each with the measured value and whether it is met."""
    lines = []

    def check(name: str, value: str, ok: bool) -> None:
        lines.append(f"  {'met ' if ok else 'MISS'}  {name}: {value}")

    for k, r in zip(keys, rows):
        w = WORKLOADS[k]
        if not w.infer:
            need = 10.0 if k == "tiny" else 1.0
            check(f"{w.title} >= {need:g}x PyTorch", f"{r.ratio:.2f}x", r.ratio >= need)
    if "mlp_netwright" in found:
        v = found["mlp_netwright"]
        check("MLP at >= 50% of the float32 GEMM rate", f"{v:.0%}", v >= 0.5)
    for k, (every, rate) in found.get("diag", {}).items():
        check(f"diagnostics <= 5% at the trainer's rate: {WORKLOADS[k].title}",
              f"{rate:+.2%} (on every step: {every:+.1%})", rate <= 0.05)
    for k, t in found.get("warm", {}).items():
        check(f"warm start <= 1 s: {start_title(k)}", f"{t['netwright']:.2f} s",
              t["netwright"] <= 1.0)
    if "prepared" in found.get("cold", {}):
        t, one = (found["cold"][k]["netwright"] for k in ("prepared", "all"))
        check("cold compile of every workload <= 20 s, prepared in parallel",
              f"{t:.1f} s (in one process: {one:.1f} s)", t <= 20.0)
    for k, ratio in found.get("memory", {}).items():
        check(f"peak memory <= 1.5x PyTorch: {WORKLOADS[k].title}", f"{ratio:.2f}x",
              ratio <= 1.5)
    print("\ntargets (issue 6):")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
