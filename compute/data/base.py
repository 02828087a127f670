"""What every data source shares: the `Dataset` it yields, its registry entry, its params.

A data source (a generator such as ``spirals`` or an importer such as ``csv``) is one
function registered with `source`. It receives validated params and returns a `Raw`: all
samples, unsplit. `compute.data.datasets.load_dataset` then splits them deterministically
and standardises the columns the source asks for with training statistics only, so no
source can leak validation data into its features.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..params import KINDS, Param

TASKS = ("classification", "regression")


@dataclass
class Dataset:
    """A loaded dataset, split into training and validation arrays.

    ``y`` holds int64 class indices for classification (``(N,)``, or ``(N, T)`` per
    step) and float32 targets for regression (``(N, K)`` or ``(N, T, K)``). ``x`` is
    float32, or int64 token ids when ``input_dtype`` is ``"int"``. When the source
    standardised features (CSV), ``feature_mean``/``feature_std`` hold the per-column
    statistics of the training split that were applied, so new inputs can be scaled alike:
    ``(x - feature_mean) / feature_std``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    input_shape: tuple[int, ...]
    input_dtype: str
    num_classes: int | None
    class_names: list[str] | None
    description: str
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry: what the editor shows and the loader validates against.

    ``task`` is "classification" or "regression", or "auto" for importers whose task
    depends on the file.
    """

    id: str
    title: str
    params: tuple[Param, ...]
    task: str
    doc: str


class DataParam(Param):
    """A Param with the extra kinds only data sources need.

    ``path`` is a file or folder relative to the project file ("" while not chosen);
    ``column`` names a CSV column by header name or by index (negative counts from the
    end). The editor shows ``path`` as a file chooser and ``column`` as a text field.
    """

    EXTRA_KINDS = ("path", "column")

    def __post_init__(self) -> None:
        if self.kind not in KINDS + self.EXTRA_KINDS:
            raise ValueError(f"param {self.name!r}: unknown kind {self.kind!r}")

    def _check_path(self, value: Any) -> str:
        # "" is valid: a project may choose an importer before choosing its file;
        # `load_dataset` then reports the path as required
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError(f"{self.name} must be a file path, got {value!r}")
        return value.strip()

    def _check_column(self, value: Any) -> str | int:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{self.name} must be a column name or index, got {value!r}")


@dataclass
class Raw:
    """Every sample of a source before the split (see `compute.data.datasets`)."""

    x: np.ndarray
    y: np.ndarray
    task: str
    description: str
    num_classes: int | None = None
    class_names: list[str] | None = None
    input_dtype: str = "float"
    # boolean mask over the last axis of x: columns to standardise with training stats
    standardize: np.ndarray | None = None


@dataclass(frozen=True)
class Source:
    """Where a source reads files from and how its errors name the place."""

    base_dir: Path
    where: str

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


Builder = Callable[[dict[str, Any], Source], Raw]

DATASETS: dict[str, DatasetInfo] = {}
BUILDERS: dict[str, Builder] = {}


def source(id: str, title: str, params: tuple[Param, ...], task: str,
           doc: str) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under a stable dataset id (once)."""

    def register(fn: Builder) -> Builder:
        if id in DATASETS:
            raise TypeError(f"dataset {id!r} is registered twice")
        DATASETS[id] = DatasetInfo(id, title, tuple(params), task, doc)
        BUILDERS[id] = fn
        return fn

    return register


# -- params several sources share ---------------------------------------------------------
def n_samples(default: int, low: int = 10) -> Param:
    return Param("n_samples", "int", default, "number of samples generated", min=low,
                 max=1_000_000)


def noise(default: float, help: str = "standard deviation of the Gaussian noise") -> Param:
    return Param("noise", "float", default, help, min=0.0, max=10.0)


SEED = Param("seed", "int", 0, "random seed of the generator: same seed, same data",
             min=0, max=2**31 - 1)


def classification(x: np.ndarray, y: np.ndarray, names: list[str], description: str,
                   input_dtype: str = "float") -> Raw:
    """A classification Raw with the dtypes the engine expects."""
    xd = np.int64 if input_dtype == "int" else np.float32
    return Raw(np.ascontiguousarray(x, dtype=xd), np.ascontiguousarray(y, dtype=np.int64),
               "classification", description, len(names), list(names), input_dtype)


def regression(x: np.ndarray, y: np.ndarray, description: str) -> Raw:
    """A regression Raw: float32 inputs and targets with a feature axis."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    return Raw(np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y),
               "regression", description)
