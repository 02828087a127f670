"""netwright-cli: check, train, evaluate and predict without the window (and prepare the
kernels, and benchmark).

Exit codes: 0 success; 1 training failed (diverged); 2 bad input (a missing or malformed
file, a graph that cannot be built, weights that do not fit), reported as one line on
stderr; 130 stopped by Ctrl+C, which ends the run cleanly and keeps its last checkpoint.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import NetwrightError, ProjectError
from .events import Compiling, EpochEnd, Finished, RunStarted, StepEnd

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
PREDICT_BATCH = 256


class BadInput(Exception):
    """A command-line mistake: reported like a NetwrightError (one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise BadInput(f"{message} (see {self.prog} --help)")


# -- progress ---------------------------------------------------------------------------
class ProgressBar:
    """Training progress on a stream: redrawn in place on a terminal (at most 10 times a
    second), one line per epoch otherwise (logs, CI)."""

    def __init__(self, stream=None, tty: bool | None = None, interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self._last = 0.0
        self._drawn = False
        self._compiled: Compiling | None = None

    def __call__(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.epochs, self.steps = event.epochs, event.steps_per_epoch
            self.start = time.perf_counter()
            self._loss, self._count = 0.0, 0
        elif isinstance(event, Compiling):
            self._compiling(event)
        elif isinstance(event, StepEnd):
            if self._compiled is not None:
                self._clear()
                self.stream.write(f"compiled {self._compiled.count} kernels in "
                                  f"{self._compiled.seconds:.1f} s (cached for later runs)\n")
                self._compiled = None
            self._loss += event.loss
            self._count += 1
            now = time.perf_counter()
            if self.tty and now - self._last >= self.interval:
                self._last = now
                self._draw(event, now)
        elif isinstance(event, EpochEnd):
            self._clear()
            self.stream.write(self.epoch_line(event) + "\n")
            self.stream.flush()
            self._loss, self._count = 0.0, 0
        elif isinstance(event, Finished):
            self._clear()

    def _compiling(self, event: Compiling) -> None:
        """The first run of a network on a machine waits for Numba: say so, not hang."""
        if self._compiled is None and not self.tty:
            self.stream.write("compiling the kernels this network needs (first run on this "
                              "machine; Numba caches them)...\n")
            self.stream.flush()
        self._compiled = event
        if self.tty:
            self.stream.write(f"\rcompiling kernels (first run on this machine): "
                              f"{event.kernel} ({event.count}, {event.seconds:.0f} s)\x1b[K")
            self.stream.flush()
            self._drawn = True

    def _draw(self, event: StepEnd, now: float) -> None:
        done = event.step
        total = self.epochs * self.steps
        eta = (now - self.start) / done * max(total - done, 0)
        in_epoch = done - (event.epoch - 1) * self.steps
        line = (f"epoch {event.epoch}/{self.epochs}  step {in_epoch}/{self.steps}  "
                f"loss {self._loss / max(self._count, 1):.4f}  "
                f"{event.samples_per_s:,.0f} samples/s  ETA {_duration(eta)}")
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def epoch_line(self, event: EpochEnd) -> str:
        m = event.metrics
        parts = [f"epoch {event.epoch}/{self.epochs}"]
        parts += [f"{k} {m[k]:.4f}" for k in m if k not in ("lr", "seconds")]
        parts.append(f"({m.get('seconds', 0.0):.1f} s)")
        return "  ".join(parts)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


# -- commands ---------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    """Validate a project and print its layer table."""
    from .model import build_model
    from .project import load_project
    from .training import Trainer

    project = load_project(args.project)
    model = build_model(project.graph, seed=0)
    print(format_summary(project.name, model.summary()))
    if project.data.get("dataset") is None:
        print("data: no dataset chosen yet (needed to train)")
        return EXIT_OK
    trainer = Trainer(project)          # loads the data and checks that the network fits it
    f = trainer.feed
    print(f"data: {trainer.dataset.name}, {f.n} training and {len(f.x_val)} validation "
          f"samples; {trainer.feed.steps_per_epoch} steps per epoch")
    return EXIT_OK


def format_summary(name: str, rows: list[dict[str, Any]]) -> str:
    """A Keras-like table: node, type, output shape, parameters, multiply-adds."""
    head = ("Node", "Type", "Output shape", "Params", "MACs")
    body = [(r["node"], r["type"], "(" + ", ".join(map(str, r["shape"])) + ")",
             f"{r['params']:,}", f"{r['macs']:,}") for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    right = (False, False, False, True, True)

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cells, widths, right)).rstrip()

    rule = "=" * len(line(head))
    total = sum(r["params"] for r in rows)
    macs = sum(r["macs"] for r in rows)
    return "\n".join([f'Project "{name}"', rule, line(head), "-" * len(rule),
                      *map(line, body), rule, f"Total params: {total:,}",
                      f"Multiply-adds per sample: {macs:,}"])


def cmd_train(args: argparse.Namespace) -> int:
    """Train with a progress bar and write the run folder."""
    from .project import load_project
    from .training import Trainer

    project = load_project(args.project)
    out = Path(args.out) if args.out else default_run_dir(project.name)
    callbacks = [] if args.quiet else [ProgressBar(sys.stderr)]
    trainer = Trainer(project, callbacks=callbacks, run_dir=out, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    interrupted = []

    def on_sigint(signum, frame):
        interrupted.append(signum)
        trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)   # twice: stop at once

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    try:
        history = trainer.run()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if history.reason == "diverged":
        print(f"netwright-cli: {history.message}", file=sys.stderr)
        print(f"run folder: {out}")
        return EXIT_FAILED
    last = history.last
    scores = "  ".join(f"{k} {v:.4f}" for k, v in last.items() if k not in ("epoch", "lr",
                                                                          "seconds"))
    print(history.message)
    if scores:
        print(f"epoch {last['epoch']}: {scores}")
    print(f"run folder: {out}")
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def default_run_dir(name: str) -> Path:
    """runs/<project-name>-<timestamp>, made unique if that folder exists."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.").lower() or "run"
    base = Path("runs") / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 2
    while path.exists():
        path, i = base.with_name(f"{base.name}-{i}"), i + 1
    return path


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Loss and metrics of saved weights on the project's validation split."""
    from .project import load_project
    from .training import Trainer
    from .weights import load_weights

    project = load_project(args.project)
    trainer = Trainer(project, seed=args.seed)
    load_weights(trainer.model, args.weights)
    for key, value in trainer.evaluate().items():
        print(f"{key}: {value:.6g}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    """Run saved weights on inputs from an .npz file; write the outputs to another."""
    from .model import build_model
    from .project import atomic_write, load_project
    from .weights import load_weights

    project = load_project(args.project)
    model = build_model(project.graph, seed=0)
    load_weights(model, args.weights)
    inputs = read_inputs(Path(args.input), model.input_ids)
    if not args.raw:
        inputs = standardize(project, inputs, args.seed)
    outputs = predict(model, inputs)
    arrays = {"Y": outputs} if isinstance(outputs, np.ndarray) else outputs
    atomic_write(Path(args.output), lambda f: np.savez(f, **arrays))
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items())
    print(f"wrote {args.output}: {shapes}")
    return EXIT_OK


def read_inputs(path: Path, input_ids: list[str]) -> dict[str, np.ndarray]:
    """Input arrays from an .npz: key "X" for a single Input node, else one key per id."""
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.keys())
            wanted = {i: ("X" if len(input_ids) == 1 and "X" in keys else i) for i in input_ids}
            missing = [k for k in wanted.values() if k not in keys]
            if missing:
                expect = '"X"' if len(input_ids) == 1 else ", ".join(f'"{i}"' for i in input_ids)
                raise ProjectError(f"{where}: no array {expect} (the file has "
                                   f"{', '.join(keys) or 'none'})")
            arrays = {i: npz[k] for i, k in wanted.items()}
    except ProjectError:
        raise
    except FileNotFoundError:
        raise ProjectError(f"{where}: no such file") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ProjectError(f"{where}: not a readable .npz file ({exc})") from None
    lengths = {len(a) if a.ndim else 0 for a in arrays.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ProjectError(f"{where}: input arrays need a batch axis of one common length")
    return arrays


def standardize(project, inputs: dict[str, np.ndarray], seed: int | None) -> dict:
    """Scale inputs as training scaled its features (CSV columns use training-split
    statistics); inputs pass unchanged for datasets that scale nothing."""
    from .data import load_dataset
    from .project import resolve_data, resolve_training

    if project.data.get("dataset") is None or len(inputs) != 1:
        return inputs
    if seed is None:
        seed = resolve_training(project.training)["seed"]
    ds = load_dataset(resolve_data(project.data), project.base_dir, seed)
    mean, std = getattr(ds, "feature_mean", None), getattr(ds, "feature_std", None)
    if mean is None or std is None:
        return inputs
    (key, x), = inputs.items()
    if x.shape[-1:] != mean.shape:
        raise ProjectError(f"inputs have {x.shape[-1:]} features on the last axis but the "
                           f"dataset standardises {mean.shape[0]}")
    return {key: (x - mean) / std}


def predict(model, inputs: dict[str, np.ndarray]) -> np.ndarray | dict[str, np.ndarray]:
    """Outputs for every sample, computed in inference mode in batches."""
    n = len(next(iter(inputs.values())))
    parts: list = []
    for start in range(0, n, PREDICT_BATCH):
        batch = {k: v[start:start + PREDICT_BATCH] for k, v in inputs.items()}
        y = model.forward(batch, training=False)
        parts.append({k: v.copy() for k, v in y.items()} if isinstance(y, dict) else y.copy())
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


# -- entry point ------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="netwright-cli", description="Design, train and understand neural "
                     "networks: the headless commands.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("check", help="validate a project and print its layer table")
    p.add_argument("project", help="a .netw project file")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("train", help="train a project and write a run folder")
    p.add_argument("project")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--batch-size", type=int, help="override training.batch_size")
    p.add_argument("--lr", type=float, help="override the optimizer's learning rate")
    p.add_argument("--seed", type=int, help="override training.seed")
    p.add_argument("--out", help="run folder (default runs/<project-name>-<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="validation loss and metrics of saved weights")
    p.add_argument("project")
    p.add_argument("--weights", required=True, help="an .npz weights file (best.npz, ...)")
    p.add_argument("--seed", type=int, help="the seed the weights were trained with, if "
                   "overridden (it chooses the validation split)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="run saved weights on inputs from an .npz file")
    p.add_argument("project")
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True, help='.npz with the inputs under key "X" (or '
                   "one key per Input node id), as the dataset gives them before scaling")
    p.add_argument("--output", required=True, help='.npz to write: the outputs under key '
                   '"Y" (or one key per Output node id)')
    p.add_argument("--raw", action="store_true", help="inputs are already scaled: skip the "
                   "standardisation the dataset applies to its features (CSV)")
    p.add_argument("--seed", type=int, help="the seed the weights were trained with, if "
                   "overridden (it chooses the split the scaling statistics come from)")
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("prepare", help="compile every kernel ahead of the first run, on "
                       "several processes (the window does this by itself at first start)")
    p.add_argument("--jobs", type=int, help="worker processes (default: one per CPU, at "
                   "most 4)")
    p.add_argument("--force", action="store_true", help="prepare again even if prepared")
    p.add_argument("--only", nargs="+", metavar="SPECIMEN",
                   help="prepare only these (workload:KEY or example:NAME; default all)")
    p.set_defaults(func=cmd_prepare)
    sub.add_parser("bench", help="speed against PyTorch on this machine (needs the test "
                   "extra; see netwright-cli bench --help)")
    p = sub.add_parser("layers", help="print the layer reference (every type and param)")
    p.set_defaults(func=cmd_layers)
    return parser


def cmd_prepare(args: argparse.Namespace) -> int:
    """Compile the kernels of the benchmark's workloads and the examples into Numba's
    cache, in parallel (`compute.prepare`), printing a line per specimen."""
    from . import prepare

    names = args.only or prepare.specimens()
    known = set(prepare.specimens())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BadInput(f"no specimen {', '.join(unknown)}; there are "
                       f"{', '.join(sorted(known))}")
    jobs = prepare.DEFAULT_JOBS if args.jobs is None else args.jobs
    if jobs < 1:
        raise BadInput(f"--jobs must be at least 1, not {args.jobs}")
    if not args.force and prepare.prepared(names):
        print(f"already prepared ({len(names)} specimens; --force prepares again)")
        return EXIT_OK

    def progress(outcome, done: int, total: int) -> None:
        what = outcome.error or f"{outcome.compiled} kernels compiled"
        print(f"[{done}/{total}] {outcome.specimen}: {what} ({outcome.seconds:.1f} s)",
              flush=True)

    t0 = time.perf_counter()
    work = prepare.Preparation(names, jobs=jobs, progress=progress)
    try:
        outcomes = work.run()
    except KeyboardInterrupt:
        work.cancel()
        raise
    failed = [o for o in outcomes if o.error]
    compiled = sum(o.compiled for o in outcomes)
    print(f"prepared {len(outcomes) - len(failed)} of {len(names)} specimens in "
          f"{time.perf_counter() - t0:.1f} s on {work.jobs} processes ({compiled} "
          f"compilations; kernels in {prepare.cache_folder()})")
    for o in failed:
        _say(f"{o.specimen}: {o.error}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_layers(args: argparse.Namespace) -> int:
    from .reference import markdown

    sys.stdout.write(markdown())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (tests call this directly)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:       # its own options: netwright-cli bench --help
        from . import bench

        try:
            return bench.main(argv[1:])
        except SystemExit as exc:   # its argparse: --help, or a usage error (exit 2)
            return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as exc:          # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (NetwrightError, BadInput) as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except OSError as exc:
        _say(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except Exception:                   # a bug, not bad input: keep the traceback
        traceback.print_exc()
        return EXIT_FAILED


def _say(message: str) -> None:
    text = " ".join(str(message).split())       # one line, whatever the message holds
    print(f"netwright-cli: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
