"""Project files (``*.netw``): strict reading, validation, migration and atomic saving.

A project is one JSON document: format name and version, the graph, the data settings and
the training settings (docs/project-format.md lists every field). Reading is strict and
never executes anything: malformed or hostile input (bad UTF-8, NaN literals, duplicate
keys, deep nesting, huge files) becomes a `ProjectError` whose message starts with the file
and names the place. Saving writes a temporary file next to the target and renames it over,
so the old file survives a full disk or a killed process.
"""
from __future__ import annotations

import copy
import errno
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import NetwrightError, ProjectError
from .graph import Graph
from .params import Param

FORMAT = "netwright"
CURRENT_VERSION = 1
MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
MAX_INT_DIGITS = 30
TOP_KEYS = ("format", "version", "name", "graph", "data", "training")
WIDTH = 100   # lines up to this width keep small objects on one line

__all__ = ["CURRENT_VERSION", "MIGRATIONS", "Project", "dumps_project", "load_project",
           "parse_project", "resolve_data", "resolve_training", "save_project",
           "atomic_write"]


@dataclass
class Project:
    """A network with its data and training settings, as stored in one file.

    `data` and `training` hold only what the file sets (partial sections are normal);
    `resolve_data` / `resolve_training` fill the defaults.
    """

    name: str = "Untitled"
    graph: Graph = field(default_factory=Graph)
    data: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def base_dir(self) -> Path:
        """Folder that relative data paths are read from: the project file's folder."""
        return self.path.parent if self.path is not None else Path.cwd()

    def resolved_data(self) -> dict:
        return resolve_data(self.data)

    def resolved_training(self) -> dict:
        return resolve_training(self.training)

    def to_dict(self) -> dict[str, Any]:
        """The file's content as plain JSON values (positions rounded to 0.1)."""
        graph = self.graph.to_dict()
        for node in graph["nodes"]:
            if "position" in node:
                node["position"] = [_round(v) for v in node["position"]]
        return {"format": FORMAT, "version": CURRENT_VERSION, "name": self.name,
                "graph": graph, "data": copy.deepcopy(self.data),
                "training": copy.deepcopy(self.training)}

    @classmethod
    def from_dict(cls, d: Any, path: str | os.PathLike | None = None) -> "Project":
        """Validate (and migrate) a parsed document; ProjectError names the bad place."""
        check_tree(d)
        if not isinstance(d, dict):
            raise ProjectError("the top level must be a JSON object")
        d = migrate(d)
        unknown = [k for k in d if k not in TOP_KEYS]
        if unknown:
            raise ProjectError(_unknown(unknown[0], TOP_KEYS, "field"))
        name = d.get("name", Path(path).stem if path else "Untitled")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ProjectError(f"name: must be a non-empty text of at most 200 characters, "
                               f"got {_short(name)}")
        graph = Graph.from_dict(d.get("graph", {"nodes": [], "edges": []}), "graph")
        data = check_data(d.get("data", {}))
        training = check_training(d.get("training", {}))
        return cls(name, graph, data, training, Path(path) if path is not None else None)


def _round(v: float) -> float | int:
    r = round(float(v), 1)
    return int(r) if r.is_integer() else r


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unknown(name: str, known, what: str) -> str:
    import difflib

    hint = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    extra = f' (did you mean "{hint[0]}"?)' if hint else ""
    return f'unknown {what} "{name}"{extra}'


# -- the data and training sections -------------------------------------------------------
DATA_FIELDS = (
    Param("validation_split", "float", 0.2, "fraction of the samples held out for validation",
          min=0.0, max=0.9),
    Param("target", "choice", "labels", "train on the dataset's labels, or to reproduce the "
          "input (autoencoders)", choices=("labels", "input")),
    Param("input_noise", "float", 0.0, "std of Gaussian noise added to the input only "
          "(denoising autoencoders)", min=0.0, max=100.0),
)
DATA_KEYS = ("dataset", "params", "validation_split", "target", "input_noise", "augmentation")

TRAINING_FIELDS = (
    Param("epochs", "int", 10, "passes over the training set", min=1, max=1_000_000),
    Param("batch_size", "int", 32, "samples per step: 1 = stochastic, at least the training "
          "set size = full batch", min=1, max=100_000_000),
    Param("seed", "int", 0, "seed of initialisation, shuffling, dropout and augmentation",
          min=0, max=2**32 - 1),
    Param("shuffle", "bool", True, "shuffle the training samples before every epoch"),
    Param("snapshot_every", "int", 50, "training steps between two activation snapshots for "
          "the live panels (0 = never)", min=0, max=100_000_000),
)
TRAINING_KEYS = ("epochs", "batch_size", "seed", "shuffle", "optimizer", "schedule",
                 "regularization", "gradient_clip", "early_stopping", "snapshot_every")
REGULARIZATION = (
    Param("l1", "float", 0.0, "L1 penalty for layers that leave their own at 0", min=0.0,
          max=100.0),
    Param("l2", "float", 0.0, "L2 penalty for layers that leave their own at 0", min=0.0,
          max=100.0),
    Param("weight_noise", "float", 0.0, "std of Gaussian noise added to the weights at each "
          "training step", min=0.0, max=100.0),
)
EARLY_STOPPING = (
    Param("patience", "int", 5, "epochs without improvement of the validation loss before "
          "stopping", min=1, max=1_000_000),
    Param("min_delta", "float", 0.0, "smallest decrease of the validation loss that counts "
          "as an improvement", min=0.0),
)
DEFAULT_OPTIMIZER = {"type": "sgd", "lr": 0.01}


def _value(p: Param, value: Any, where: str) -> Any:
    try:
        return p.to_json(p.validate(value))
    except ValueError as exc:
        msg = str(exc)
        msg = msg[len(p.name) + 1:] if msg.startswith(p.name + " ") else msg
        raise ProjectError(f"{where}.{p.name}: {msg}") from None


def _object(given: Any, where: str) -> dict:
    if not isinstance(given, dict):
        raise ProjectError(f"{where}: must be an object {{...}}, got {_short(given)}")
    return given


def _fields(schema, given: Any, where: str, fill: bool, extra: tuple = ()) -> dict:
    """Validate `given` against `schema` (ignoring keys in `extra`); fill defaults if asked."""
    _object(given, where)
    names = [p.name for p in schema]
    for key in given:
        if key not in names and key not in extra:
            raise ProjectError(f"{where}: " + _unknown(key, [*names, *extra], "field"))
    return {p.name: _value(p, given[p.name], where) if p.name in given else p.to_json(p.default)
            for p in schema if fill or p.name in given}


def _typed(given: Any, table: dict, where: str, fill: bool, default: str | None) -> dict:
    """A {"type": T, ...} spec checked against `table[T]` (a tuple of Params)."""
    _object(given, where)
    kind = given.get("type", default)
    if kind is None:
        raise ProjectError(f'{where}: missing field "type" (one of {", ".join(table)})')
    if not isinstance(kind, str) or kind not in table:
        msg = _unknown(kind, table, "type") if isinstance(kind, str) else \
            f"must be a text, got {_short(kind)}"
        raise ProjectError(f'{where}.type: {msg}; choose one of {", ".join(table)}')
    schema = getattr(table[kind], "params", table[kind])
    rest = {k: v for k, v in given.items() if k != "type"}
    out = {"type": kind} if fill or "type" in given else {}
    try:
        out.update(_fields(schema, rest, where, fill))
    except ProjectError as exc:
        if "unknown field" not in str(exc):
            raise
        takes = ", ".join(p.name for p in schema) or "nothing else"
        raise ProjectError(f'{exc}; "{kind}" takes {takes}') from None
    return out


def _data_registry() -> tuple[dict, dict]:
    from .data import AUGMENTATIONS, DATASETS   # late: the datasets pull in scikit-learn

    return DATASETS, AUGMENTATIONS


def check_data(data: Any, fill: bool = False) -> dict:
    """The validated data section in its canonical order; `fill` adds every default."""
    _object(data, "data")
    for key in data:
        if key not in DATA_KEYS:
            raise ProjectError("data: " + _unknown(key, DATA_KEYS, "field"))
    datasets, augmentations = _data_registry()
    out: dict[str, Any] = {}
    dataset = data.get("dataset")
    if dataset is not None and (not isinstance(dataset, str) or dataset not in datasets):
        msg = _unknown(dataset, datasets, "dataset") if isinstance(dataset, str) else \
            f"must be a dataset id, got {_short(dataset)}"
        raise ProjectError(f'data.dataset: {msg}; choose one of {", ".join(datasets)}')
    if "dataset" in data or fill:
        out["dataset"] = dataset
    if "params" in data or fill:
        params = _object(data.get("params", {}), "data.params")
        if dataset is None and params:
            raise ProjectError("data.params: no dataset is chosen")
        out["params"] = _fields(datasets[dataset].params, params, "data.params", fill) \
            if dataset is not None else {}
    out.update(_fields(DATA_FIELDS, data, "data", fill, extra=DATA_KEYS))
    if "augmentation" in data or fill:
        specs = data.get("augmentation", [])
        if not isinstance(specs, list):
            raise ProjectError(f"data.augmentation: must be a list, got {_short(specs)}")
        out["augmentation"] = [_typed(s, augmentations, f"data.augmentation[{i}]", fill, None)
                               for i, s in enumerate(specs)]
    return {k: out[k] for k in DATA_KEYS if k in out}


def check_training(training: Any, fill: bool = False) -> dict:
    """The validated training section in its canonical order; `fill` adds every default."""
    from .optimizers import GRADIENT_CLIP, OPTIMIZERS, SCHEDULES

    _object(training, "training")
    out = _fields(TRAINING_FIELDS, training, "training", fill, extra=TRAINING_KEYS)
    if "optimizer" in training or fill:
        spec = training.get("optimizer", DEFAULT_OPTIMIZER)
        lr = spec.get("lr") if isinstance(spec, dict) else None
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr <= 0:
            raise ProjectError(f"training.optimizer.lr: must be > 0, got {lr:g}")
        out["optimizer"] = _typed(spec, OPTIMIZERS, "training.optimizer", fill,
                                  DEFAULT_OPTIMIZER["type"])
    if "schedule" in training or fill:
        out["schedule"] = _typed(training.get("schedule", {}), SCHEDULES, "training.schedule",
                                 fill, "constant")
    if "regularization" in training or fill:
        out["regularization"] = _fields(REGULARIZATION, training.get("regularization", {}),
                                        "training.regularization", fill)
    for key, schema in (("gradient_clip", GRADIENT_CLIP), ("early_stopping", EARLY_STOPPING)):
        if training.get(key) is not None:
            out[key] = _fields(schema, training[key], f"training.{key}", fill)
        elif key in training or fill:
            out[key] = None
    clip = out.get("gradient_clip")
    if clip is not None:
        clip = {k: v for k, v in clip.items() if v is not None}
        if not clip or any(v <= 0 for v in clip.values()):
            raise ProjectError('training.gradient_clip: give "norm" or "value", a number > 0')
        out["gradient_clip"] = clip
    return {k: out[k] for k in TRAINING_KEYS if k in out}


def resolve_data(data: dict | None) -> dict:
    """Every data field, defaults filled: dataset (None if not chosen), params, ..."""
    return check_data({} if data is None else data, fill=True)


def resolve_training(training: dict | None) -> dict:
    """Every training field, defaults filled (optimizer {"type": "sgd", "lr": 0.01}, ...)."""
    return check_training({} if training is None else training, fill=True)


# -- versions and migrations ---------------------------------------------------------------
def _migrate_0_to_1(d: dict) -> dict:
    """Version 0, the pre-release draft, to version 1.

    The draft kept the graph flat at the top level: ``"layers": [{"name", "type",
    "config", "x", "y"}]`` and ``"links": [{"from", "to", "input"}]``, and wrote the
    optimizer as a string with ``learning_rate`` (and its other settings, such as
    ``momentum``) directly in ``training``. Fields the draft did not know are kept, so
    that version 1's validation reports them.
    """
    if "graph" in d:
        raise ProjectError('graph: a version 0 file keeps its graph in "layers" and "links"')
    out = {k: v for k, v in d.items() if k not in ("layers", "links")}
    out["version"] = 1
    layers, links = d.get("layers", []), d.get("links", [])
    for key, value in (("layers", layers), ("links", links)):
        if not isinstance(value, list):
            raise ProjectError(f"{key}: must be a list (version 0 file)")
    out["graph"] = {"nodes": [_rename(n, {"name": "id", "config": "params"}, xy=True)
                              for n in layers],
                    "edges": [_rename(e, {"from": "source", "to": "target", "input": "port"})
                              for e in links]}
    training = d.get("training")
    if isinstance(training, dict) and (isinstance(training.get("optimizer"), str)
                                       or "learning_rate" in training):
        training = dict(training)
        opt = {"type": training.pop("optimizer")} if "optimizer" in training else {}
        if "learning_rate" in training:
            opt["lr"] = training.pop("learning_rate")
        for key in ("momentum", "rho", "beta1", "beta2", "eps"):
            if key in training:
                opt[key] = training.pop(key)
        training["optimizer"] = opt
        out["training"] = training
    return out


def _rename(entry: Any, names: dict[str, str], xy: bool = False) -> Any:
    if not isinstance(entry, dict):
        return entry            # version 1's validation says what is wrong with it
    out = {names.get(k, k): v for k, v in entry.items() if not (xy and k in ("x", "y"))}
    if xy and ("x" in entry or "y" in entry):
        out["position"] = [entry.get("x", 0), entry.get("y", 0)]
    return out


# from_version -> function(document) -> document of from_version + 1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: _migrate_0_to_1}


def migrate(d: dict) -> dict:
    """Check format and version, then apply MIGRATIONS in order up to CURRENT_VERSION."""
    if "format" not in d:
        raise ProjectError('not a Netwright project (no "format": "netwright" field)')
    if d["format"] != FORMAT:
        raise ProjectError(f'format: must be "{FORMAT}", got {_short(d["format"])}')
    version = d.get("version")
    if "version" not in d:
        raise ProjectError('missing field "version"')
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectError(f"version: must be an integer >= 0, got {_short(version)}")
    if version > CURRENT_VERSION:
        raise ProjectError(f"written by a newer Netwright (version {version}); this version "
                           f"reads up to {CURRENT_VERSION}")
    while version < CURRENT_VERSION:
        d = MIGRATIONS[version](d)
        version += 1
    return d


# -- strict JSON ---------------------------------------------------------------------------
class _Bad(Exception):
    """Raised from inside the JSON parser's hooks; the message is then located."""


def _pairs(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Bad(f'duplicate key "{k}"')
        out[k] = v
    return out


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Bad(f"number {text[:30]} is too large")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Bad(f"integer with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _constant(text: str) -> None:
    raise _Bad(f"{text} is not valid JSON (numbers must be finite)")


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_float=_float, parse_int=_int,
                            parse_constant=_constant)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _locate(text: str) -> tuple[int, str] | None:
    """Position and description of the first duplicate key, non-finite or huge number, or
    too-deep nesting in `text` (used only to name the place once parsing failed)."""
    stack: list[set | None] = []
    last, last_pos = "", 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "{[" and len(tok) == 1:
            stack.append(set() if tok == "{" else None)
            if len(stack) > MAX_DEPTH:
                return m.start(), f"nested more than {MAX_DEPTH} levels deep"
        elif tok in "}]" and len(tok) == 1:
            if stack:
                stack.pop()
        elif tok == ":" and stack and stack[-1] is not None and last.startswith('"'):
            try:
                key = json.loads(last)
            except ValueError:
                continue
            if key in stack[-1]:
                return last_pos, f'duplicate key "{key}"'
            stack[-1].add(key)
        elif tok.startswith('"') and "\\u" in tok and not _encodes(tok):
            return m.start(), "text is not valid Unicode (lone surrogate)"
        elif tok in ("NaN", "Infinity", "-Infinity"):
            return m.start(), f"{tok} is not valid JSON (numbers must be finite)"
        elif (num := _NUMBER.fullmatch(tok)) is not None:
            if num.group(1) is None and num.group(2) is None and \
                    len(tok.lstrip("-")) > MAX_INT_DIGITS:
                return m.start(), f"integer with more than {MAX_INT_DIGITS} digits"
            if not math.isfinite(float(tok)):
                return m.start(), f"number {tok[:30]} is too large"
        last, last_pos = tok, m.start()
    return None


def _encodes(token: str) -> bool:
    try:
        json.loads(token).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _at(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - text.rfind(chr(10), 0, pos)}"


def parse_json(data: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, no duplicate keys, bounded depth and size."""
    if len(data) > MAX_BYTES:
        raise ProjectError(f"file is larger than {MAX_BYTES // 2**20} MB; refusing to read it")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{_at(data.decode('latin-1'), exc.start)}: not UTF-8 text "
                           f"(byte 0x{data[exc.start]:02x})") from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") \
            from None
    except (_Bad, RecursionError, ValueError) as exc:
        found = _locate(text)
        if found is None:
            reason = str(exc) if isinstance(exc, _Bad) else "nested too deeply"
            raise ProjectError(f"invalid JSON ({reason})") from None
        raise ProjectError(f"{_at(text, found[0])}: {found[1]}") from None
    try:
        check_tree(value)
    except ProjectError:
        found = _locate(text)
        if found is None:
            raise
        raise ProjectError(f"{_at(text, found[0])}: {found[1]}") from None
    return value


def check_tree(value: Any) -> None:
    """Refuse values no JSON file can hold: deep nesting, non-finite or huge numbers,
    texts that are not valid Unicode, non-text keys (also guards `from_dict` callers)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list, tuple)):
            if depth > MAX_DEPTH:
                raise ProjectError(f"nested more than {MAX_DEPTH} levels deep")
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, item in items:
                if isinstance(v, dict):
                    if not isinstance(k, str):
                        raise ProjectError(f"key {k!r} is not text")
                    _check_text(k)
                stack.append((item, depth + 1))
        elif isinstance(v, str):
            _check_text(v)
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int):
            if abs(v) >= 10**MAX_INT_DIGITS:
                raise ProjectError(f"integer with more than {MAX_INT_DIGITS} digits")
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ProjectError(f"number {v} is not finite")
        else:
            raise ProjectError(f"{type(v).__name__} is not a JSON value")


def _check_text(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ProjectError(f"text {s[:20]!r} is not valid Unicode (lone surrogate)") from None


# -- writing -------------------------------------------------------------------------------
def dumps_project(d: dict) -> str:
    """JSON with indent 2, small objects and lists on one line, one node or edge per line."""
    return _dump(d, 0, "") + "\n"


def _dump(value: Any, level: int, prefix: str) -> str:
    one = json.dumps(value, ensure_ascii=False, allow_nan=False)
    inline = (not isinstance(value, (dict, list)) or not value or
              (level >= 2 and 2 * level + len(prefix) + len(one) <= WIDTH
               and not (isinstance(value, list) and any(isinstance(v, dict) for v in value))))
    if inline:
        return one
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            key = json.dumps(k, ensure_ascii=False) + ": "
            parts.append(pad + key + _dump(v, level + 1, key))
        return "{\n" + ",\n".join(parts) + "\n" + "  " * level + "}"
    parts = [pad + _dump(v, level + 1, "") for v in value]
    return "[\n" + ",\n".join(parts) + "\n" + "  " * level + "]"


def _write(f, data: bytes) -> None:
    """The one write of a save (tests patch it to simulate a full disk)."""
    f.write(data)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Call `write(binary_file)` on a temporary file next to `path`, flush it to disk,
    then rename it over `path`.

    On any failure the temporary file is removed, the old file is left as it was, and a
    ProjectError names the path. Keeps the old file's permissions.
    """
    path = Path(path)
    if path.is_symlink():           # replace the file the link points to, keep the link
        path = Path(os.path.realpath(path))
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        _sync_folder(folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        raise ProjectError(f"{path}: could not save ({reason}); the previous file is "
                           f"unchanged") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- public entry points ----------------------------------------------------------------------
def parse_project(data: bytes, where: str = "<project>",
                  path: str | os.PathLike | None = None) -> Project:
    """A project from the bytes of a file; every ProjectError starts with `where`."""
    try:
        return Project.from_dict(parse_json(data), path)
    except NetwrightError as exc:
        raise ProjectError(f"{where}: {exc}") from None


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file (never modifies it); ProjectError names the place."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ProjectError(f"{path}: file is larger than {MAX_BYTES // 2**20} MB; "
                               f"refusing to read it")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise ProjectError(f"{path}: is a folder, not a project file") from None
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_project(data, str(path), path)


def save_project(project: Project, path: str | os.PathLike | None = None) -> Path:
    """Validate, then write atomically; sets `project.path`. Returns the path written."""
    target = Path(path) if path is not None else project.path
    if target is None:
        raise ProjectError("save_project: no path given and the project has none")
    try:
        canonical = Project.from_dict(project.to_dict(), target).to_dict()
        text = dumps_project(canonical)
    except NetwrightError as exc:
        raise ProjectError(f"{target}: not saved: {exc}") from None
    atomic_write(target, lambda f: _write(f, text.encode("utf-8")))
    project.path = target
    return target
