"""Project files (``*.netw``): the Project, loading, migration and saving.

A project is one JSON document: format name and version, the graph, the data settings and
the training settings (docs/project-format.md lists every field). This module owns the
document as a whole; the layers under it do the rest:

- compute/jsonio.py reads strictly (bad UTF-8, NaN literals, duplicate keys, deep nesting,
  huge files are refused at their line and column), writes stably and atomically;
- compute/settings.py validates the data and training sections and fills their defaults.

Every ProjectError from loading starts with the file and names the place; saving writes a
temporary file and renames it over, so the old file survives a full disk or a killed
process. The names of both layers that other modules use are re-exported here.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import NetwrightError, ProjectError
from .graph import Graph
from .jsonio import (MAX_BYTES, MAX_DEPTH, MAX_INT_DIGITS, atomic_write, check_tree,
                     parse_json, short)
from .jsonio import dumps_stable as dumps_project
from .settings import (DATA_FIELDS, DATA_KEYS, EARLY_STOPPING, REGULARIZATION, TRAINING_FIELDS,
                       TRAINING_KEYS, check_data, check_training, resolve_data,
                       resolve_training, unknown)

FORMAT = "netwright"
CURRENT_VERSION = 1
TOP_KEYS = ("format", "version", "name", "graph", "data", "training")

__all__ = ["CURRENT_VERSION", "DATA_FIELDS", "DATA_KEYS", "EARLY_STOPPING", "FORMAT",
           "MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "MIGRATIONS", "Project",
           "REGULARIZATION", "TOP_KEYS", "TRAINING_FIELDS", "TRAINING_KEYS", "atomic_write",
           "check_data", "check_training", "check_tree", "dumps_project", "load_project",
           "migrate", "parse_json", "parse_project", "resolve_data", "resolve_training",
           "save_project"]


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
        extra = [k for k in d if k not in TOP_KEYS]
        if extra:
            raise ProjectError(unknown(extra[0], TOP_KEYS, "field"))
        name = d.get("name", Path(path).stem if path else "Untitled")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ProjectError(f"name: must be a non-empty text of at most 200 characters, "
                               f"got {short(name)}")
        graph = Graph.from_dict(d.get("graph", {"nodes": [], "edges": []}), "graph")
        data = check_data(d.get("data", {}))
        training = check_training(d.get("training", {}))
        return cls(name, graph, data, training, Path(path) if path is not None else None)


def _round(v: float) -> float | int:
    r = round(float(v), 1)
    return int(r) if r.is_integer() else r


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
        raise ProjectError(f'format: must be "{FORMAT}", got {short(d["format"])}')
    version = d.get("version")
    if "version" not in d:
        raise ProjectError('missing field "version"')
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectError(f"version: must be an integer >= 0, got {short(version)}")
    if version > CURRENT_VERSION:
        raise ProjectError(f"written by a newer Netwright (version {version}); this version "
                           f"reads up to {CURRENT_VERSION}")
    while version < CURRENT_VERSION:
        d = MIGRATIONS[version](d)
        version += 1
    return d

# -- reading and writing files -----------------------------------------------------------------
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


def _write(f, data: bytes) -> None:
    """The one write of a save (tests patch it to simulate a full disk)."""
    f.write(data)


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
