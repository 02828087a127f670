"""How responsive the window stays while it trains (issue 5): `python -m
tests.benchmarks.bench_gui_latency [PROJECT ...] [--panel NAME|all] [--epochs N]
[--seconds S] [--show]`.

For each project (by default the spirals MLP and LeNet on digits from projects/, copied to
a temporary folder so no weights land next to the examples), it opens the main window,
presses Train and, until the run ends, measures:

- the event-loop latency: the gaps between the ticks of a 1 ms QTimer (a gap of 50 ms is
  a frame the user sees stall), as median, 99th percentile and maximum;
- the panels' redraw time: every frame-clock redraw of every visible panel, timed
  (setting the data; a frame's share of a redraw done in parts), and their paint time:
  every repaint of a plot view (drawing it);
- the canvas's paint time: every repaint of the node editor, which the gradient tint
  changes while training;
- the machine's own stalls: *stall probes*, separate processes that record every wake-up
  more than 20 ms late: one pinned to each CPU, sleeping 1 ms at a time, and one that
  maps, touches and unmaps fresh memory every 5 ms (`StallProbe`). A long gap of the
  window during which a probe stalled too is counted as the machine's (another virtual
  machine, the host), not the window's: column "machine". Column "steal %" is
  the share of CPU time the hypervisor took during the run (/proc/stat): on a busy host
  every frame is slower. Column "io ms" is how long some process waited for the disk
  during the run (/proc/pressure/io): a thread that touches a file then may wait too.
  Column "majflt" counts the window's own page faults that waited for the disk (a page
  of a library or a file the kernel had dropped, read in again).

Run by hand (not in CI); prints one table. Offscreen unless --show. With BENCH_VERBOSE=1
it also says when each gap longer than BENCH_GAP_MS (default 50) fell, how much of it the
GUI thread spent on a CPU and how much waiting for one (the rest it slept: on a lock, the
disk, or the machine paused), which redraws and paints (over 2 ms) fell in it, and each
panel's redraw times. With BENCH_STACKS=1 too, a thread samples the GUI thread's stack
every 2 ms and each such gap lists the stacks seen in it, most frequent first (how the
causes of long frames were found; the sampling itself costs the window a little). With
BENCH_WATCH=1 too, a process beside the window (`thread_watch`) samples every 1 ms, from
/proc, what the kernel says of the GUI thread (running, waiting for a CPU, asleep in
which system call, and where in the kernel), the CPUs' stolen time, and which other
threads ran or were held in the kernel meanwhile; each long gap says what it saw (it
costs the machine about a sixth of a CPU).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from .thread_watch import fields_after_name, major_faults

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ["projects/spirals_mlp.netw", "projects/lenet_digits.netw"]


PANELS = ("loss", "gradients", "activations", "features", "boundary", "predictions",
          "weights", "autoencoder", "diagnosis")
LONG_MS = 50        # a frame the user sees stall


class StallProbe:
    """Processes beside the window that report every wake-up more than 20 ms late, with
    its clock (time.perf_counter: the same monotonic clock in every process):

    - one pinned to each CPU, that sleeps 1 ms at a time. A probe at the default priority
      wakes at once on its CPU unless that CPU was taken from this virtual machine (the
      hypervisor's steal) or from every process on it. (A single probe free to run on
      either CPU stalls only when both are taken.)
    - one that, every 5 ms, maps 4 fresh pages of memory, writes to each and unmaps them:
      the kernel's and the hypervisor's work for memory the window's threads do when
      their heap grows or they touch a new page. It stalls when that work stalls for every
      process, not only in the window's own memory map.

    Where a probe stalled during a long gap of the window, the machine stalled."""

    # argv: "cpu" and the CPU to pin to (-1: none), or "memory"
    CODE = ("import mmap, os, sys, time\n"
            "memory = sys.argv[1] == 'memory'\n"
            "if not memory and int(sys.argv[2]) >= 0:\n"
            "    os.sched_setaffinity(0, {int(sys.argv[2])})\n"
            "pause, pages = (0.005, 4) if memory else (0.001, 0)\n"
            "marks = bytes(range(1, pages + 1))\n"
            "last = time.perf_counter()\n"
            "while True:\n"
            "    time.sleep(pause)\n"
            "    if memory:\n"
            "        with mmap.mmap(-1, pages * mmap.PAGESIZE) as fresh:\n"
            "            fresh[::mmap.PAGESIZE] = marks\n"
            "    now = time.perf_counter()\n"
            "    if now - last > 0.02:\n"
            "        print(f'{last:.4f} {now:.4f}', flush=True)\n"
            "    last = now\n")

    def __init__(self) -> None:
        import subprocess

        self.stalls: list[tuple[float, float, str]] = []     # (start, end, "cpu"|"memory")
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [-1]
        kinds = [("cpu", str(cpu)) for cpu in cpus] + [("memory",)]
        self.processes = [(kind[0], subprocess.Popen([sys.executable, "-c", self.CODE, *kind],
                                                     stdout=subprocess.PIPE, text=True))
                          for kind in kinds]
        self.readers = [threading.Thread(target=self._read, args=(p, kind), daemon=True)
                        for kind, p in self.processes]
        for r in self.readers:
            r.start()

    def _read(self, process, kind: str) -> None:
        for line in process.stdout:
            a, b = line.split()
            self.stalls.append((float(a), float(b), kind))

    def stalled(self, start: float, end: float) -> list[str]:
        """The kinds of probe that stalled at some moment between start and end."""
        return sorted({kind for a, b, kind in list(self.stalls) if a < end and b > start})

    def close(self) -> None:
        """Stop the probes, with every stall they reported read."""
        for _kind, p in self.processes:
            p.kill()
            p.wait()
        for r in self.readers:
            r.join(5)


class StackSampler:
    """A thread that records the GUI thread's innermost frames every 2 ms (BENCH_STACKS):
    what the window was doing during a long gap, where no redraw or paint explains it."""

    DEPTH = 6

    def __init__(self) -> None:
        self.samples: list[tuple[float, str]] = []
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            frame = sys._current_frames().get(self._main)
            names = []
            while frame is not None and len(names) < self.DEPTH:
                code = frame.f_code
                names.append(f"{Path(code.co_filename).name}:{frame.f_lineno}:{code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), " < ".join(names)))

    def between(self, start: float, end: float, top: int = 4) -> list[tuple[int, str]]:
        """The stacks sampled between start and end, most frequent first, with counts."""
        seen = Counter(st for t, st in list(self.samples) if start <= t <= end)
        return [(n, st) for st, n in seen.most_common(top)]

    def clear(self) -> None:
        self.samples.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)


class ThreadWatcher:
    """`thread_watch` in a process of its own (BENCH_WATCH): what the GUI thread was doing
    during a gap as the kernel saw it (running, waiting for a CPU, or asleep in which system
    call), the CPUs' stolen time, and which other threads ran meanwhile."""

    def __init__(self) -> None:
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.thread_watch", str(os.getpid()),
             str(threading.get_native_id())], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)

    def clear(self) -> None:
        self.process.stdin.write("clear\n")
        self.process.stdin.flush()

    def between(self, start: float, end: float) -> dict:
        self.process.stdin.write(f"query {start} {end}\n")
        self.process.stdin.flush()
        seen = json.loads(self.process.stdout.readline())
        names = {str(t.native_id): t.name for t in threading.enumerate()}

        def named(key: str) -> str:     # "window TID comm": this process's thread names
            words = key.split(" ", 2)
            if words[0] == "window" and len(words) == 3:
                words[1] = names.get(words[1], words[1])
            return " ".join(words)
        for part in ("others running", "others in the kernel"):
            seen[part] = {named(k): n for k, n in seen.get(part, {}).items()}
        return seen

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(5)


def cpu_ticks() -> tuple[int, int]:
    """(ticks the hypervisor stole from this machine's CPUs, all ticks) so far, from
    /proc/stat; (0, 0) where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return fields[7], sum(fields)


def pread_reader(path: str):
    """A function giving the file's first bytes (read in about 1-2 µs: at every tick of the
    GUI thread, parsed only for a long gap), or None where there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY)
        os.pread(fd, 1024, 0)
    except (OSError, AttributeError):
        return None
    return lambda: os.pread(fd, 1024, 0)


@functools.cache     # opened once, not once a run: `measure` runs on the GUI thread
def thread_sched_reader():
    """A function giving the calling thread's (time on a CPU, time runnable but waiting
    for one), as Linux's /proc/.../schedstat bytes, or its CPU time alone where there is
    no such file."""
    return pread_reader(f"/proc/self/task/{threading.get_native_id()}/schedstat") or \
        time.thread_time


def sched_delta(a, b) -> tuple[float, float | None]:
    """Milliseconds (on a CPU, waiting for one) between two `thread_sched_reader` values."""
    if isinstance(a, float):
        return 1000 * (b - a), None
    (ran0, wait0), (ran1, wait1) = (map(int, v.split()[:2]) for v in (a, b))
    return (ran1 - ran0) / 1e6, (wait1 - wait0) / 1e6


@functools.cache
def process_stat_reader():
    """A function giving this process's /proc/self/stat bytes (see `window_faults`), or b""
    where there is none."""
    return pread_reader("/proc/self/stat") or (lambda: b"")


def window_faults(stat: bytes) -> int:
    """The window's page faults that waited for the disk, from `process_stat_reader`."""
    return major_faults(fields_after_name(stat.decode("ascii", "replace")))


def io_wait_us() -> int:
    """Microseconds in which some task waited for I/O so far (Linux's pressure stall
    information); 0 where there is none."""
    try:
        with open("/proc/pressure/io") as f:
            some = f.readline().split()
        return int(dict(kv.split("=") for kv in some[1:])["total"])
    except (OSError, ValueError, KeyError):
        return 0


def measure(path: Path, epochs: int | None, seconds: float, app, panel: str,
            probe: StallProbe, sampler: StackSampler | None = None,
            watcher: ThreadWatcher | None = None) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer

    from pyqtgraph.widgets.GraphicsView import GraphicsView

    from designer.editor.view import EditorView
    from designer.main_window import MainWindow
    from designer.panels.base import Panel

    data = json.loads(path.read_text("utf-8"))
    if epochs is not None:
        data.setdefault("training", {})["epochs"] = epochs
    folder = Path(tempfile.mkdtemp(prefix="netwright-bench-"))
    target = folder / path.name
    target.write_text(json.dumps(data), "utf-8")
    for extra in path.parent.glob(path.stem + ".*"):      # data files a project may name
        if extra.suffix not in (".netw", ".npz"):
            shutil.copy(extra, folder)
    redraws: list[float] = []
    per_panel: dict[str, list[float]] = {}
    paints: list[float] = []
    spans: list[tuple[float, float, str]] = []     # (start, end, what): the GUI's work
    refresh = Panel.refresh

    def timed_refresh(self, *args, **kwargs) -> bool:      # one frame's share of a redraw
        t = time.perf_counter()
        drew = refresh(self, *args, **kwargs)
        if drew:
            redraws.append(time.perf_counter() - t)
            per_panel.setdefault(type(self).__name__, []).append(redraws[-1])
            spans.append((t, t + redraws[-1], f"redraw {type(self).__name__}"))
        return drew
    Panel.refresh = timed_refresh
    paint_event = GraphicsView.paintEvent

    def timed_paint(self, ev) -> None:
        t = _time(paint_event, (self, ev), paints)
        spans.append((t, t + paints[-1], f"paint {_owner(self)}"))
    GraphicsView.paintEvent = timed_paint
    canvas_paint = EditorView.paintEvent
    canvas: list[float] = []

    def timed_canvas_paint(self, ev) -> None:      # the node editor, tinted while training
        t = _time(canvas_paint, (self, ev), canvas)
        spans.append((t, t + canvas[-1], "paint canvas"))
    EditorView.paintEvent = timed_canvas_paint
    try:
        w = MainWindow(target)
        w.resize(1500, 950)
        w.show()
        for dock in w.training.panel_docks.values():     # the default layout: tabbed
            dock.setFloating(False)
        w.training.panel_docks[panel].raise_()           # this panel in front
        session = w.training.session
        settle = time.perf_counter() + 10      # as a user would: Train in a window that
        while session.frame_clock_running() and time.perf_counter() < settle:  # is open
            app.processEvents()                # (its first paints, the plots made ahead)
            time.sleep(0.005)
        w.canvas.fit()           # the network fitted to the canvas, as the app opens it
        shown = time.perf_counter() + 0.2      # (left at the least zoom, the canvas drew
        while time.perf_counter() < shown:     # every example tiny: its tinted paints
            app.processEvents()                # were the cheapest they can be)
            time.sleep(0.005)
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(1)
        sched: list = []            # the GUI thread's scheduler counters at each tick
        stats: list = []            # and the window's process counters
        read_sched, read_stat = thread_sched_reader(), process_stat_reader()
        timer.timeout.connect(lambda: (ticks.append(time.perf_counter()),
                                       sched.append(read_sched()), stats.append(read_stat())))
        timer.start()
        loop = QEventLoop()
        ended: list[float] = []
        session.worker.done.connect(lambda *_: ended.append(time.perf_counter()))
        session.worker.done.connect(loop.quit)
        QTimer.singleShot(int(seconds * 1000), session.stop)     # a run that is too long
        if watcher:
            watcher.clear()
        w.training.actions["train"].trigger()
        start = time.perf_counter()
        stolen, io_before = cpu_ticks(), io_wait_us()
        loop.exec()             # the real event loop: idle waits release the GIL
        app.processEvents()
        timer.stop()
        wall = time.perf_counter() - start
        (steal0, total0), (steal1, total1) = stolen, cpu_ticks()
        run = session.current
        gaps = np.diff(np.array(ticks)) * 1000 if len(ticks) > 1 else np.zeros(1)
        long = np.flatnonzero(gaps > LONG_MS)
        frames = np.array(redraws) * 1000 if redraws else np.zeros(1)
        painted = np.array(paints) * 1000 if paints else np.zeros(1)
        on_canvas = np.array(canvas) * 1000 if canvas else np.zeros(1)
        result = {"panel": panel, "project": path.stem, "steps": run.step,
                  "steps/s": run.step / wall,
                  "end": run.finished.reason if run.finished else run.error,
                  "gap p50": float(np.median(gaps)), "gap p99": float(np.percentile(gaps, 99)),
                  "gap max": float(gaps.max()), "gaps>50ms": int(long.size),
                  "long": [(ticks[i], ticks[i + 1]) for i in long],   # "machine" from it
                  "steal %": 100 * (steal1 - steal0) / max(total1 - total0, 1),
                  "io ms": (io_wait_us() - io_before) / 1000,
                  "majflt": window_faults(stats[-1]) - window_faults(stats[0]) if stats else 0,
                  "redraws": len(redraws), "redraw p99": float(np.percentile(frames, 99)),
                  "redraw max": float(frames.max()),
                  "paint p99": float(np.percentile(painted, 99)),
                  "paint max": float(painted.max()),
                  "canvas max": float(on_canvas.max()),
                  "slowest": max(per_panel, key=lambda k: max(per_panel[k]), default="")}
        if os.environ.get("BENCH_VERBOSE"):
            end = ended[0] if ended else float("nan")
            for i in np.flatnonzero(gaps > float(os.environ.get("BENCH_GAP_MS", LONG_MS))):
                inside = [f"{what} {1000 * (b - a):.0f}" for a, b, what in spans
                          if b > ticks[i] and a < ticks[i + 1] and b - a > 0.002]
                kinds = probe.stalled(ticks[i], ticks[i + 1])
                machine = f" The {' and '.join(kinds)} probe stalled too." if kinds else ""
                ran, queued = sched_delta(sched[i], sched[i + 1])
                faults = window_faults(stats[i + 1]) - window_faults(stats[i])
                disk = f" The window waited for the disk in {faults} page faults." \
                    if faults else ""
                print(f"  {path.stem}: a {gaps[i]:.0f} ms gap at clock {ticks[i]:.3f}, "
                      f"{ticks[i] - start:.3f} s after "
                      f"Train, {ticks[i] - end:+.3f} s from the run's end; the GUI thread "
                      f"ran {ran:.0f} ms of it" + (f" and waited {queued:.0f} ms for a "
                                                   "core" if queued is not None else "")
                      + "; in it (ms): "
                      + (", ".join(inside) or "no redraw or paint") + "." + machine + disk)
                for n, stack in (sampler.between(ticks[i], ticks[i + 1]) if sampler else ()):
                    print(f"      {n:3d} x {stack}")
                if watcher:
                    print(f"      watched: {watcher.between(ticks[i], ticks[i + 1])}")
            for name, times in sorted(per_panel.items()):
                t = np.array(times) * 1000
                print(f"  {path.stem} {name:18s} n={len(t):4d} median {np.median(t):7.1f} "
                      f"p99 {np.percentile(t, 99):7.1f} max {t.max():7.1f} ms")
        if sampler:
            sampler.clear()
        w.document.undo_stack.setClean()
        w.close()
        return result
    finally:
        Panel.refresh = refresh
        GraphicsView.paintEvent = paint_event
        EditorView.paintEvent = canvas_paint
        shutil.rmtree(folder, ignore_errors=True)


def _time(f, args: tuple, out: list) -> float:
    t = time.perf_counter()
    f(*args)
    out.append(time.perf_counter() - t)
    return t


def _owner(widget) -> str:
    """The panel (or other widget class) a plot view belongs to."""
    w = widget
    while w is not None:
        if type(w).__name__.endswith(("Panel", "Dock", "Preview")):
            return type(w).__name__
        w = w.parent()
    return type(widget).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("projects", nargs="*", default=DEFAULT)
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="stop a run that takes longer (default 60)")
    parser.add_argument("--show", action="store_true", help="use the real display")
    parser.add_argument("--panel", default="loss", choices=PANELS + ("all",),
                        help="the panel in front while training (default loss); all: "
                             "every project with each panel in turn")
    args = parser.parse_args(argv)
    panels = PANELS if args.panel == "all" else (args.panel,)
    if not args.show:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("NETWRIGHT_STATE_DIR", tempfile.mkdtemp(prefix="netwright-state-"))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings_dir = tempfile.mkdtemp(prefix="netwright-settings-")   # never the user's
    for fmt in (QSettings.IniFormat, QSettings.NativeFormat):
        QSettings.setPath(fmt, QSettings.UserScope, settings_dir)
    probe = StallProbe()
    sampler = StackSampler() if os.environ.get("BENCH_STACKS") else None
    watcher = ThreadWatcher() if os.environ.get("BENCH_WATCH") else None
    try:
        rows = [measure((ROOT / p) if not Path(p).is_absolute() else Path(p), args.epochs,
                        args.seconds, app, panel, probe, sampler, watcher)
                for panel in panels for p in args.projects]
    finally:
        probe.close()       # a stall is reported as it ends: after the run, at times
        for helper in (sampler, watcher):
            if helper:
                helper.close()
    for r in rows:
        r["machine"] = sum(bool(probe.stalled(a, b)) for a, b in r.pop("long"))
    cols = ["panel", "project", "steps", "steps/s", "end", "gap p50", "gap p99", "gap max",
            "gaps>50ms", "machine", "steal %", "io ms", "majflt", "redraws", "redraw p99",
            "redraw max", "paint p99", "paint max", "canvas max", "slowest"]
    print("event-loop gaps of a 1 ms timer and panel redraw times, in ms, while training; "
          "machine: gaps over 50 ms in which a stall probe (CPU or memory) stalled too; "
          "steal %: the CPU time the hypervisor took from this machine during the run; "
          "io ms: time some process waited for the disk; majflt: the window's page faults "
          "that waited for it")
    widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in cols]
    print("  ".join(c.rjust(wd) for c, wd in zip(cols, widths)))
    for r in rows:
        print("  ".join(_fmt(r[c]).rjust(wd) for c, wd in zip(cols, widths)))
    long, machine = sum(r["gaps>50ms"] for r in rows), sum(r["machine"] for r in rows)
    steal = sum(r["steal %"] for r in rows) / max(len(rows), 1)
    stalls = {kind: [b - a for a, b, k in probe.stalls if k == kind]
              for kind in ("cpu", "memory")}
    counted = ", ".join(f"{kind} {len(d)} (longest {1000 * max(d, default=0):.0f} ms)"
                        for kind, d in stalls.items())
    print(f"\n{len(rows)} runs (steal {steal:.1f} % on average); stalls of the probes "
          f"(over 20 ms): {counted}; gaps over {LONG_MS} ms: {long}, of which the "
          f"machine's {machine}, the window's {long - machine}")
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
