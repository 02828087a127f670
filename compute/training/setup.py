"""Preparing a run: settings with overrides, the project as trained, and the checks that
refuse (in words, before any step) a network that does not fit its data."""
from __future__ import annotations

import copy

from ..data import DATASETS
from ..data.base import Source
from ..errors import GraphError, TrainingError
from ..model import Model
from ..project import Project
from .checkpoints import same_rng
from .feed import Feed


def overridden(training: dict | None, epochs=None, batch_size=None, lr=None,
               seed=None) -> dict:
    """The project's training section (as written) with the given overrides set."""
    raw = copy.deepcopy(training or {})
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed)):
        if value is not None:
            raw[key] = value
    if lr is not None:
        opt = raw.get("optimizer")
        raw["optimizer"] = {**(opt if isinstance(opt, dict) else {}), "lr": lr}
    return raw


def as_trained(project: Project, training: dict) -> Project:
    """The project with `training` and absolute data paths, so that its copy in a run
    folder trains the same from there."""
    data = copy.deepcopy(project.data)
    info = DATASETS.get(data.get("dataset"))
    params = data.get("params") or {}
    src = Source(project.base_dir, "data")
    for p in (info.params if info else ()):
        if p.kind == "path" and isinstance(params.get(p.name), str):
            params[p.name] = str(src.resolve(params[p.name]).resolve())
    return Project(project.name, project.graph.copy(), data, training, None)


def check_graph(model: Model) -> None:
    """Datasets give one input array and one target: one Input and one Output node."""
    for what, ids in (("Input", model.input_ids), ("Output", model.output_ids)):
        if len(ids) != 1:
            names = ", ".join(f'"{i}"' for i in ids) or "none"
            raise GraphError(f"training needs exactly one {what} node; this network has "
                             f"{len(ids)} ({names})")


def check_fit(model: Model, ds, feed: Feed, task: str) -> None:
    """Input shape and dtype, classes against output units, then the real loss on two
    samples (which catches any other target/output mismatch with the loss's message)."""
    inp, out = model.input_ids[0], model.output_ids[0]
    want = model.output_shapes[inp]
    if tuple(ds.input_shape) != tuple(want):
        raise TrainingError(f'Input "{inp}" takes samples of shape {list(want)} but dataset '
                            f'"{ds.name}" gives {list(ds.input_shape)}: set the Input shape '
                            f'to {list(ds.input_shape)}')
    kinds = {True: "token ids", False: "floats"}
    int_input = model.layers[inp].cfg.get("dtype") == "int"
    if int_input != (ds.input_dtype == "int"):
        raise TrainingError(f'Input "{inp}" expects {kinds[int_input]} but dataset '
                            f'"{ds.name}" gives {kinds[ds.input_dtype == "int"]}: set its '
                            f'dtype to {ds.input_dtype}')
    if task == "classification":
        _check_classes(model, ds)
    x, t = feed.samples(2)
    with same_rng(model):
        model.forward(x, training=False)
        model.layers[out].loss(t)


def _check_classes(model: Model, ds) -> None:
    out = model.output_ids[0]
    loss, k = model.layers[out].cfg["loss"], model.output_shapes[out][-1]
    if loss == "cross_entropy" and k != ds.num_classes:
        raise TrainingError(f'Output "{out}" gets {k} values per sample but dataset '
                            f'"{ds.name}" has {ds.num_classes} classes: give the layer '
                            f'before it {ds.num_classes} units')
    if loss == "binary_cross_entropy" and (k != 1 or ds.num_classes != 2):
        raise TrainingError(f'Output "{out}": binary_cross_entropy needs one output unit and '
                            f'two classes; use cross_entropy with {ds.num_classes} units')
    if loss == "mse":
        raise TrainingError(f'Output "{out}": dataset "{ds.name}" is a classification; '
                            f'choose cross_entropy (or binary_cross_entropy for two classes)')
