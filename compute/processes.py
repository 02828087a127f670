"""The environment of the Python processes Netwright starts for itself (the window's
training process, the kernels' preparation workers, the benchmark's measurements)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]      # where `compute` and `designer` live


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment with `extra`, and this checkout first on PYTHONPATH:
    a child imports the same `compute` as its parent, installed or not."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, **extra, "PYTHONPATH": path}
