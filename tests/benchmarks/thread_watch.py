"""A process that watches the window's threads from outside (the latency benchmark's
BENCH_WATCH): `python -m tests.benchmarks.thread_watch PID TID`.

Every millisecond it reads, from /proc, the GUI thread's (TID of process PID) state, CPU,
system call and scheduler counters, every CPU's stolen time, and which other threads of
the window's process and of its children (the training hosts) are running or waiting for
a CPU, and where in the kernel any of them is held (its kernel stack: root only), the
states of the kernel's memory threads (`DAEMONS`), and the window's page faults that
waited for the disk. It runs beside the window, not in it, so it holds no lock of the
window's, and its own sampling shows when the machine stalled it too.

On stdin it answers `query START END` (time.perf_counter seconds) with one line of JSON:
what it saw in that window of time. `quit` ends it.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import NamedTuple

# The kernel's threads that work on memory under processes' feet. khugepaged (nice 19)
# collapses a process's pages into huge pages, holding its memory map's lock for writing;
# on a busy machine it may wait long for a CPU meanwhile. kdamond (DAMON) samples which
# physical pages are used, through the locks of the mappings that hold them, and may
# page out the cold ones (this machine runs one that pages out unmapped file pages).
DAEMONS = ("khugepaged", "kdamond.0")
SYSCALLS = {"0": "read", "1": "write", "7": "poll", "23": "select", "35": "nanosleep",
            "202": "futex", "230": "clock_nanosleep", "232": "epoll_wait", "271": "ppoll",
            "281": "epoll_pwait", "-1": "none (blocked in the kernel)",
            "running": "running"}


class Sample(NamedTuple):
    """One look at the window, at time `t` (time.perf_counter)."""
    t: float
    state: str                  # the GUI thread's: R running or runnable, S, D, ...
    cpu: int                    # the CPU it ran on last
    syscall: str                # its system call's number, or "running"
    ran_ns: int                 # its time on a CPU so far
    waited_ns: int              # its time runnable, waiting for a CPU, so far
    stolen: tuple[int, ...]     # each CPU's stolen ticks so far
    running: tuple[str, ...]    # the other threads running or runnable
    daemons: tuple[str, ...]    # the states of the kernel's memory threads (DAEMONS)
    collapsed: int              # the pages khugepaged merged so far
    major_faults: int           # the window's page faults that waited for the disk so far
    stack: str                  # the GUI thread's kernel stack, while in state D
    blocked: tuple[str, ...]    # other threads in state D, with their kernel stacks


def read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("ascii", "replace")
    except OSError:             # the thread has ended
        return ""


class Others:
    """The threads of the window's process and of its child processes, refreshed now and
    then: which of them are running ("R") at a sample."""

    def __init__(self, pid: int, skip: int) -> None:
        self.pid, self.skip = pid, skip
        self.fds: dict[tuple[int, int], int] = {}
        self.names: dict[tuple[int, int], str] = {}

    def refresh(self) -> None:
        pids = [self.pid]
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        seen = set()
        for pid in pids:
            role = self._role(pid)
            if role is None:
                continue
            try:
                tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                continue
            for tid in tids:
                key = (pid, tid)
                seen.add(key)
                if key in self.fds or tid == self.skip:
                    continue
                try:
                    self.fds[key] = os.open(f"/proc/{pid}/task/{tid}/stat", os.O_RDONLY)
                    with open(f"/proc/{pid}/task/{tid}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                self.names[key] = f"{role} {tid} {comm}"
        for key in set(self.fds) - seen:
            os.close(self.fds.pop(key))

    def _role(self, pid: int) -> str | None:
        """"window", "host PID", "probe PID" (the benchmark's stall probes), or None for
        this watcher and processes gone."""
        if pid == self.pid:
            return "window"
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        if pid == os.getpid() or "thread_watch" in command:
            return None
        return f"{'host' if 'training.host' in command else 'probe'} {pid}"

    def now(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the threads running or runnable, those asleep in the kernel with their kernel
        stacks)."""
        running, blocked = [], []
        for (pid, tid), fd in self.fds.items():
            letter = state(fd)
            if letter == "R":
                running.append(self.names[pid, tid])
            elif letter == "D":
                blocked.append(f"{self.names[pid, tid]}: {kernel_stack(pid, tid)}")
        return tuple(running), tuple(blocked)


def kernel_thread(name: str) -> int | None:
    """The stat file (open) of the kernel thread called `name`, if there is one."""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as f:
                if entry.isdigit() and f.read().strip() == name:
                    return os.open(f"/proc/{entry}/stat", os.O_RDONLY)
        except OSError:
            continue
    return None


def stat_fields(fd: int | None) -> list[str]:
    """The fields of a stat file after the command's name: the state first (R running or
    runnable, S asleep, D held in the kernel); [] for a thread gone."""
    return fields_after_name(read(fd) if fd is not None else "")


def fields_after_name(stat: str) -> list[str]:
    """The fields of a /proc stat text after the command's name (which may hold spaces
    and parentheses); [] for no text."""
    return stat[stat.rindex(")") + 2:].split() if stat else []


def major_faults(fields: list[str]) -> int:
    """A process's page faults that waited for the disk so far, from `fields_after_name`
    of its stat (0 where there is none)."""
    return int(fields[9]) if len(fields) > 9 else 0


def state(fd: int | None) -> str:
    return (stat_fields(fd) or ["?"])[0]


def kernel_stack(pid: int, tid: int, depth: int = 8) -> str:
    """Where a thread is in the kernel, innermost first (root only; "" otherwise)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stack") as f:
            lines = f.read().split("\n")
    except OSError:
        return ""
    return " < ".join(line.split("] ", 1)[-1].split("+")[0] for line in lines[:depth] if line)


def watch(pid: int, tid: int, samples: list, stop: threading.Event) -> None:
    base = f"/proc/{pid}/task/{tid}/"
    stat, syscall, sched = (os.open(base + name, os.O_RDONLY)
                            for name in ("stat", "syscall", "schedstat"))
    cpus = os.open("/proc/stat", os.O_RDONLY)
    daemons = [kernel_thread(name) for name in DAEMONS]
    process = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    try:
        collapsed = os.open("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed",
                            os.O_RDONLY)
    except OSError:
        collapsed = None
    others = Others(pid, tid)
    n = 0
    while not stop.is_set():
        if n % 50 == 0:
            others.refresh()
        n += 1
        t = time.perf_counter()
        fields = stat_fields(stat)
        if not fields:
            return
        steal = tuple(int(line.split()[8]) for line in read(cpus).splitlines()
                      if line.startswith("cpu") and line[3].isdigit())
        ran, queued = map(int, read(sched).split()[:2])
        running, blocked = others.now()
        samples.append(Sample(
            t, fields[0], int(fields[36]), read(syscall).split(" ", 1)[0].strip(), ran,
            queued, steal, running, tuple(state(fd) for fd in daemons),
            int(read(collapsed) or 0) if collapsed is not None else 0,
            major_faults(stat_fields(process)),
            kernel_stack(pid, tid) if fields[0] == "D" else "", blocked))
        time.sleep(0.001)


def summary(samples: list, start: float, end: float) -> dict:
    """What the samples between start and end show (one sample either side included)."""
    inside = [s for s in samples if start <= s.t <= end]
    before = [s for s in samples if s.t < start][-1:]
    after = [s for s in samples if s.t > end][:1]
    span = before + inside + after
    if len(span) < 2:
        return {"samples": len(span)}
    pause = max(b.t - a.t for a, b in zip(span, span[1:]))
    hz = os.sysconf("SC_CLK_TCK")
    first, last = span[0], span[-1]
    return {
        "samples": len(inside),
        "watcher's longest pause ms": round(1000 * pause, 1),
        "GUI states": dict(Counter(s.state for s in inside)),
        "GUI cpus": dict(Counter(s.cpu for s in inside)),
        "GUI syscalls": dict(Counter(SYSCALLS.get(s.syscall, s.syscall) for s in inside)),
        "GUI ran ms": round((last.ran_ns - first.ran_ns) / 1e6, 1),
        "GUI waited ms": round((last.waited_ns - first.waited_ns) / 1e6, 1),
        "stolen ms by cpu": [round(1000 * (b - a) / hz)
                             for a, b in zip(first.stolen, last.stolen)],
        "others running": dict(Counter(n for s in inside for n in s.running).most_common(6)),
        **{f"{name} states": dict(Counter(s.daemons[i] for s in inside))
           for i, name in enumerate(DAEMONS)},
        "window's major page faults": last.major_faults - first.major_faults,
        "GUI kernel stacks": dict(Counter(s.stack for s in inside if s.stack).most_common(3)),
        "others in the kernel": dict(Counter(b for s in inside
                                             for b in s.blocked).most_common(4)),
        "pages collapsed": last.collapsed - first.collapsed,
    }


def main(argv: list[str]) -> int:
    pid, tid = int(argv[0]), int(argv[1])
    samples: list = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(pid, tid, samples, stop), daemon=True)
    thread.start()
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "query":
            print(json.dumps(summary(samples, float(words[1]), float(words[2]))), flush=True)
        elif words and words[0] == "clear":
            del samples[:]
        elif words and words[0] == "quit":
            break
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
