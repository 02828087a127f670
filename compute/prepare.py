"""Compile the kernels before they are needed, on several processes at once (issue 6: the
cold compile). `netwright-cli prepare` runs it; the window runs it in the background at
its first start.

Numba compiles a kernel at its first call, one at a time in a process, 0.3-1.5 s each:
all the kernels of the benchmark's workloads took 20-33 s in one process here (a 2-core
VM). So each *specimen* (a workload of the benchmark, or an example project) runs its
first training step in a worker process, the workers take specimens from one queue,
heaviest first, so that they finish together, and the kernels land in Numba's cache
(whose saves `kernels.runtime` locks): 14 s on two workers. Every later process loads
them from there.

A stamp in the cache folder then records what was prepared: the kernel sources (as Numba
knows them, by modification time and size), Numba, Python and the specimens. While it
matches, `prepared()` is true and the window does not prepare again.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .processes import ROOT, child_env

EXAMPLES = ROOT / "projects"       # the example projects, in a source checkout
WORKER = [sys.executable, "-m", "compute.prepare", "--worker"]
STAMP = "netwright-prepared.json"
# workers by default: one per CPU, at most 4 (each holds Numba and LLVM: 150-200 MB)
DEFAULT_JOBS = max(1, min(os.cpu_count() or 1, 4))
# the heaviest first: the two convolution paths' kernels, the fused tiny step, the cells
WORKLOAD_ORDER = ("lenet", "tiny", "lstm", "gru", "mlp", "resnet", "rnn")


@dataclass(frozen=True)
class Outcome:
    """One specimen's preparation: kernels compiled, seconds, and the error, if any."""

    specimen: str
    seconds: float
    compiled: int
    error: str | None = None


def specimens() -> list[str]:
    """Every specimen, heaviest first: ``workload:KEY`` for the benchmark's training
    workloads, then ``example:NAME`` for each example project that is here."""
    names = [f"workload:{k}" for k in WORKLOAD_ORDER]
    names += [f"example:{p.stem}" for p in sorted(EXAMPLES.glob("*.netw"))]
    return names


def run_specimen(name: str) -> int:
    """Run `name`'s first training step, with diagnostics and an inference pass as a
    run's start has them; returns how many kernels Numba compiled for it."""
    from .kernels.runtime import compile_reports

    compiled = []
    with compile_reports(compiled.append):
        kind, _, key = name.partition(":")
        if kind == "workload":
            _first_workload_step(key)
        elif kind == "example":
            first_project_step(EXAMPLES / f"{key}.netw")
        else:
            raise ValueError(f"unknown specimen {name!r}: expected workload:KEY or "
                             "example:NAME")
    return len(compiled)


def _first_workload_step(key: str) -> None:
    from .bench_workloads import WORKLOADS, netwright_step

    if key not in WORKLOADS:
        raise ValueError(f"no benchmark workload {key!r} (there are {', '.join(WORKLOADS)})")
    w = WORKLOADS[key]
    netwright_step(w)()
    netwright_step(w, diagnostics=True)()
    netwright_step(dataclasses.replace(w, infer=True))()


def first_project_step(path: Path) -> float:
    """Load a project, make its data and model, and train until its first step ends, as
    `netwright-cli train` does; the time.time() at which that step ended."""
    from .events import StepEnd
    from .project import load_project
    from .training.trainer import Trainer

    ended: list[float] = []

    def stop_after_the_first_step(event) -> None:
        if isinstance(event, StepEnd) and not ended:
            ended.append(time.time())
            trainer.stop()

    trainer = Trainer(load_project(path), callbacks=[stop_after_the_first_step])
    trainer.run()
    if not ended:
        raise RuntimeError(f"{path.name}: the run ended before its first step")
    return ended[0]


# -- the stamp -----------------------------------------------------------------------------
def cache_folder() -> Path:
    """Where Numba keeps our kernels' cache (NUMBA_CACHE_DIR, the package's
    __pycache__, or the user's cache folder: Numba's choice)."""
    from .kernels.stats import sum_squares

    return Path(sum_squares._cache._cache_path)


def stamp_key(names: Sequence[str], kernels: Path | None = None) -> str:
    """What a preparation depends on, hashed: it changes when any kernel source (in
    `kernels`, by default the engine's), Numba, Python, the machine or the specimens do."""
    import numba

    from .kernels.runtime import sources_stamp

    text = json.dumps([numba.__version__, sys.version, platform.machine(),
                       sources_stamp() if kernels is None else sources_stamp(str(kernels)),
                       list(names)])
    return hashlib.sha256(text.encode()).hexdigest()


def prepared(names: Sequence[str] | None = None) -> bool:
    """Whether the kernels of `names` (all specimens) were prepared and nothing has
    changed since."""
    names = specimens() if names is None else list(names)
    try:
        found = json.loads((cache_folder() / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and found.get("key") == stamp_key(names)


def _write_stamp(names: Sequence[str], seconds: float) -> None:
    folder = cache_folder()
    temp = folder / f"{STAMP}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps({"key": stamp_key(names), "seconds": round(seconds, 1),
                                    "specimens": list(names)}))
        os.replace(temp, folder / STAMP)
    except OSError:             # a read-only cache: the kernels are there all the same
        temp.unlink(missing_ok=True)


# -- the workers ---------------------------------------------------------------------------
class Preparation:
    """Prepares `names` (all specimens) on `jobs` worker processes, in the order of
    `specimens()`; `run()` blocks until all are done or `cancel()` is called (from any
    thread).

    `progress(outcome, done, total)` is called, on a worker's thread, as each specimen
    ends. Workers run at priority `nice` (POSIX), below the window's.
    """

    def __init__(self, names: Sequence[str] | None = None, jobs: int = DEFAULT_JOBS,
                 nice: int = 0,
                 progress: Callable[[Outcome, int, int], None] | None = None) -> None:
        every = specimens()
        rank = {n: i for i, n in enumerate(every)}    # the heaviest first, whatever asked
        self.names = every if names is None else sorted(names, key=lambda n: rank.get(n, 0))
        self.jobs = max(1, min(jobs, len(self.names)))
        self.nice = nice
        self.progress = progress
        self.outcomes: list[Outcome] = []
        self.cancelled = threading.Event()
        self._todo: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []

    def run(self) -> list[Outcome]:
        """Prepare every specimen; writes the stamp when all succeeded. Returns each
        specimen's outcome, in the order they ended."""
        t0 = time.perf_counter()
        for name in self.names:
            self._todo.put(name)
        threads = [threading.Thread(target=self._work, name=f"netwright-prepare-{i}",
                                    daemon=True) for i in range(self.jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done = {o.specimen for o in self.outcomes if o.error is None}
        if not self.cancelled.is_set() and done == set(self.names):
            _write_stamp(self.names, time.perf_counter() - t0)
        return list(self.outcomes)

    def cancel(self) -> None:
        """End the workers now; what they compiled so far stays in the cache."""
        self.cancelled.set()
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            if p.poll() is None:
                p.kill()

    def _work(self) -> None:
        """One worker process, fed specimens one by one until the queue is empty."""
        helper: _Worker | None = None
        try:
            while not self.cancelled.is_set():
                try:
                    name = self._todo.get_nowait()
                except queue.Empty:
                    return
                if helper is None:
                    try:
                        helper = self._start_worker()
                    except OSError as exc:
                        self._ended(Outcome(name, 0.0, 0,
                                            f"could not start a worker process: {exc}"))
                        return
                    if helper is None:          # cancelled meanwhile
                        return
                self._ended(helper.prepare(name))
                if helper.proc.poll() is not None:
                    return
        finally:
            if helper is not None:
                helper.close()

    def _start_worker(self) -> "_Worker | None":
        """A new worker, or None once cancelled (under the lock `cancel` takes, so that
        no worker starts after it has killed the others)."""
        with self._lock:
            if self.cancelled.is_set():
                return None
            w = _Worker(self.nice)
            self._procs.append(w.proc)
        return w

    def _ended(self, outcome: Outcome) -> None:
        if self.cancelled.is_set():
            return
        with self._lock:
            self.outcomes.append(outcome)
            done = len(self.outcomes)
        if self.progress is not None:
            self.progress(outcome, done, len(self.names))


class _Worker:
    """A worker process (`worker`), its stderr kept for a message."""

    def __init__(self, nice: int) -> None:
        self.proc = subprocess.Popen(WORKER + ["--nice", str(nice)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=child_env(), text=True)
        self.stderr: list[str] = []
        self._drain = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr),
                                       daemon=True)
        self._drain.start()

    def prepare(self, name: str) -> Outcome:
        """Have the worker prepare `name`. A worker that dies (or is killed by a cancel)
        gives the specimen its last words as the error."""
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(name + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            reply = json.loads(line) if line else None
        except (OSError, ValueError):
            reply = None
        if reply is None:
            self.proc.kill()
            self.proc.wait()
            self._drain.join(5)
            last = (self.stderr[-1].strip() if self.stderr
                    else f"exit code {self.proc.returncode}")
            return Outcome(name, time.perf_counter() - t0, 0,
                           f"the worker process ended: {last}")
        return Outcome(name, float(reply["seconds"]), int(reply["compiled"]),
                       reply.get("error"))

    def close(self) -> None:
        """The end of its input ends it; a kill if it does not go."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def worker(nice: int = 0) -> int:
    """A worker process: reads specimen names from stdin, one per line, and answers each
    with one JSON line on stdout (its seconds, kernels compiled and error)."""
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    # the answers get their own copy of stdout; whatever else writes there, Python or C,
    # goes to stderr, which the parent keeps for a message
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    for line in sys.stdin:
        name = line.strip()
        t0 = time.perf_counter()
        compiled, error = 0, None
        try:
            compiled = run_specimen(name)
        except Exception as exc:        # reported with its specimen; the worker goes on
            error = f"{type(exc).__name__}: {exc}"
        answers.write(json.dumps({"seconds": time.perf_counter() - t0,
                                  "compiled": compiled, "error": error}) + "\n")
        answers.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m compute.prepare")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--nice", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        return worker(a.nice)
    p.error("run `netwright-cli prepare` instead")
    return 2


if __name__ == "__main__":
    sys.exit(main())
