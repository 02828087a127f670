"""The data and training sections of a project: their schemas, validation and defaults.

A file holds only what the user set (partial sections are normal, and a later default
change reaches old files); `check_data` / `check_training` validate such a section and
keep it partial, `resolve_data` / `resolve_training` fill every default. Every refusal is a
`ProjectError` whose message starts with the dotted place (`training.optimizer.lr: ...`).
docs/project-format.md documents every field.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterable

from .errors import ProjectError
from .jsonio import short
from .params import Param

__all__ = ["DATA_FIELDS", "DATA_KEYS", "EARLY_STOPPING", "REGULARIZATION", "TRAINING_FIELDS",
           "TRAINING_KEYS", "check_data", "check_training", "resolve_data",
           "resolve_training", "unknown"]

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


def unknown(name: Any, known: Iterable[str], what: str) -> str:
    """'unknown field "x" (did you mean "y"?)': the closest known name, when one is close."""
    hint = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    extra = f' (did you mean "{hint[0]}"?)' if hint else ""
    return f'unknown {what} "{name}"{extra}'


# -- generic checks --------------------------------------------------------------------------
def _value(p: Param, value: Any, where: str) -> Any:
    try:
        return p.to_json(p.validate(value))
    except ValueError as exc:
        msg = str(exc)
        msg = msg[len(p.name) + 1:] if msg.startswith(p.name + " ") else msg
        raise ProjectError(f"{where}.{p.name}: {msg}") from None


def _object(given: Any, where: str) -> dict:
    if not isinstance(given, dict):
        raise ProjectError(f"{where}: must be an object {{...}}, got {short(given)}")
    return given


def _fields(schema, given: Any, where: str, fill: bool, extra: tuple = ()) -> dict:
    """Validate `given` against `schema` (ignoring keys in `extra`); fill defaults if asked."""
    _object(given, where)
    names = [p.name for p in schema]
    for key in given:
        if key not in names and key not in extra:
            raise ProjectError(f"{where}: " + unknown(key, [*names, *extra], "field"))
    return {p.name: _value(p, given[p.name], where) if p.name in given else p.to_json(p.default)
            for p in schema if fill or p.name in given}


def _typed(given: Any, table: dict, where: str, fill: bool, default: str | None) -> dict:
    """A {"type": T, ...} spec checked against `table[T]` (a tuple of Params)."""
    _object(given, where)
    kind = given.get("type", default)
    if kind is None:
        raise ProjectError(f'{where}: missing field "type" (one of {", ".join(table)})')
    if not isinstance(kind, str) or kind not in table:
        msg = unknown(kind, table, "type") if isinstance(kind, str) else \
            f"must be a text, got {short(kind)}"
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


# -- the data section ------------------------------------------------------------------------
def _data_registry() -> tuple[dict, dict]:
    from .data import AUGMENTATIONS, DATASETS   # late: the datasets pull in scikit-learn

    return DATASETS, AUGMENTATIONS


def check_data(data: Any, fill: bool = False) -> dict:
    """The validated data section in its canonical order; `fill` adds every default."""
    _object(data, "data")
    for key in data:
        if key not in DATA_KEYS:
            raise ProjectError("data: " + unknown(key, DATA_KEYS, "field"))
    datasets, augmentations = _data_registry()
    out: dict[str, Any] = {}
    dataset = data.get("dataset")
    if dataset is not None and (not isinstance(dataset, str) or dataset not in datasets):
        msg = unknown(dataset, datasets, "dataset") if isinstance(dataset, str) else \
            f"must be a dataset id, got {short(dataset)}"
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
            raise ProjectError(f"data.augmentation: must be a list, got {short(specs)}")
        out["augmentation"] = [_typed(s, augmentations, f"data.augmentation[{i}]", fill, None)
                               for i, s in enumerate(specs)]
    return {k: out[k] for k in DATA_KEYS if k in out}


# -- the training section --------------------------------------------------------------------
def check_training(training: Any, fill: bool = False) -> dict:
    """The validated training section in its canonical order; `fill` adds every default.

    An optimizer without "type" is compute.optimizers.DEFAULT_OPTIMIZER (sgd), as in
    `make_optimizer`, so a file and the engine agree on what `{"lr": 0.1}` means.
    """
    from .optimizers import DEFAULT_OPTIMIZER, GRADIENT_CLIP, OPTIMIZERS, SCHEDULES

    _object(training, "training")
    out = _fields(TRAINING_FIELDS, training, "training", fill, extra=TRAINING_KEYS)
    if "optimizer" in training or fill:
        spec = training.get("optimizer", {"type": DEFAULT_OPTIMIZER})
        lr = spec.get("lr") if isinstance(spec, dict) else None
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr <= 0:
            raise ProjectError(f"training.optimizer.lr: must be > 0, got {lr:g}")
        out["optimizer"] = _typed(spec, OPTIMIZERS, "training.optimizer", fill,
                                  DEFAULT_OPTIMIZER)
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
    if out.get("gradient_clip") is not None:
        out["gradient_clip"] = _clip(out["gradient_clip"])
    return {k: out[k] for k in TRAINING_KEYS if k in out}


def _clip(clip: dict) -> dict:
    """Gradient clipping keeps the limits that are set; at least one, each > 0."""
    clip = {k: v for k, v in clip.items() if v is not None}
    if not clip or any(v <= 0 for v in clip.values()):
        raise ProjectError('training.gradient_clip: give "norm" or "value", a number > 0')
    return clip


def resolve_data(data: dict | None) -> dict:
    """Every data field, defaults filled: dataset (None if not chosen), params, ..."""
    return check_data({} if data is None else data, fill=True)


def resolve_training(training: dict | None) -> dict:
    """Every training field, defaults filled (optimizer {"type": "sgd", "lr": 0.01}, ...)."""
    return check_training({} if training is None else training, fill=True)
