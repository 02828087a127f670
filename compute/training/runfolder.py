"""The run folder: what a training run leaves on disk.

- ``project.netw``: the project as trained (command-line overrides applied, data paths
  made absolute so the copy trains the same from its new place);
- ``metrics.jsonl``: one JSON object per line: ``run_started``, ``step`` (subsampled),
  ``epoch_end``, ``finished``;
- ``best.npz`` (the epoch with the lowest validation loss) and ``last.npz`` (the weights
  at the end of the last epoch, or where the run was stopped).

Weights and the project are written atomically (temporary file, then rename), so a crash
or a full disk never leaves a half-written file and never loses one already saved.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProjectError
from ..model import Model
from ..project import Project, save_project
from ..weights import save_weights


def to_json(value: Any) -> Any:
    """Plain JSON values: numpy scalars and tuples converted, NaN/Inf as null."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


class RunFolder:
    """Writes one run's files into `path` (created if needed)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._log = open(self.path / "metrics.jsonl", "w", encoding="utf-8")
        except OSError as exc:
            raise ProjectError(f"{self.path}: cannot create the run folder "
                               f"({exc.strerror or exc})") from None

    def save_project(self, project: Project) -> None:
        save_project(project, self.path / "project.netw")

    def log(self, record: dict[str, Any], flush: bool = False) -> None:
        """Append one event as one line (a whole line per write call)."""
        self._log.write(json.dumps(to_json(record), allow_nan=False) + "\n")
        if flush:
            self._log.flush()

    def save_weights(self, model: Model, name: str) -> Path:
        """Write `name` (e.g. "best.npz") from the model's current weights (atomic)."""
        return save_weights(model, self.path / name)

    def close(self) -> None:
        if not self._log.closed:
            self._log.close()
