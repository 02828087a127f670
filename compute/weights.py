"""Trained weights as ``.npz`` files: one array per key ``"node_id/param"``.

Besides the learnable params, a file holds each layer's non-learnable state (a layer's
``state`` dict, such as BatchNorm's running statistics) under the same kind of key, so a
model reloaded for inference behaves as the one that was saved.

Loading never unpickles: every array header is read and checked against the model (names,
shapes, dtypes; object arrays refused) before any data is read, the data is read with
``allow_pickle=False``, and nothing is written into the model unless everything fits.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .errors import ProjectError
from .jsonio import atomic_write

__all__ = ["load_weights", "model_arrays", "save_weights"]

MAX_LISTED = 3   # how many missing/extra names a message lists


def model_arrays(model) -> dict[str, np.ndarray]:
    """The model's live arrays by key "node/name": params, then layer state, in node order."""
    out: dict[str, np.ndarray] = {}
    for n in model.order:
        for name, arr in model.params.get(n, {}).items():
            out[f"{n}/{name}"] = arr
        for name, arr in (getattr(model.layers[n], "state", None) or {}).items():
            key = f"{n}/{name}"
            if key in out:
                raise ProjectError(f'node "{n}": state "{name}" has the name of a param')
            out[key] = arr
    return out


def save_weights(model, path: str | os.PathLike) -> Path:
    """Write every param and state array of `model` to `path` (atomic, uncompressed npz)."""
    arrays = {k: np.ascontiguousarray(v) for k, v in model_arrays(model).items()}
    path = Path(path)
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def load_weights(model, path: str | os.PathLike) -> None:
    """Copy the arrays of `path` into `model` in place, after checking all of them.

    ProjectError names the file and the key: missing or extra names, a wrong shape, a
    dtype of another kind (floats of another precision are converted), object arrays,
    non-finite values, a file that is not an npz archive.
    """
    path = Path(path)
    where = str(path)
    expected = model_arrays(model)
    headers = _read_headers(path, where)
    _check_names(headers, expected, model, where)
    for key, (shape, dtype) in headers.items():
        want = expected[key]
        if dtype.kind != want.dtype.kind:
            raise ProjectError(f'{where}: "{key}" has dtype {dtype} but the model expects '
                               f'{want.dtype}')
        if shape != want.shape:
            raise ProjectError(f'{where}: "{key}" has shape {shape} but the model expects '
                               f'{want.shape}')
    loaded = _read_arrays(path, where, expected)
    for key, arr in loaded.items():
        expected[key][...] = arr


def _read_headers(path: Path, where: str) -> dict[str, tuple[tuple, np.dtype]]:
    """{key: (shape, dtype)} from each member's .npy header, without reading any data."""
    if not path.is_file():
        raise ProjectError(f"{where}: no such file" if not path.exists()
                           else f"{where}: not a file")
    if not zipfile.is_zipfile(path):
        raise ProjectError(f"{where}: not a weights file (.npz archive)")
    headers = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    raise ProjectError(f'{where}: unexpected entry "{name}" (not an array)')
                key = name[:-4]
                if key in headers:
                    raise ProjectError(f'{where}: "{key}" appears twice')
                with zf.open(info) as fp:
                    headers[key] = _header(fp, key, where)
    except ProjectError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            SyntaxError, NotImplementedError) as exc:
        raise ProjectError(f"{where}: damaged weights file ({exc})") from None
    return headers


def _header(fp, key: str, where: str) -> tuple[tuple, np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = fmt.read_array_header_2_0(fp)
    else:
        raise ProjectError(f'{where}: "{key}" has an unknown .npy version {version}')
    if dtype.hasobject:
        raise ProjectError(f'{where}: "{key}" is an object array; refused (reading it '
                           f'would unpickle data)')
    if dtype.kind not in "fiub" or dtype.fields is not None:
        raise ProjectError(f'{where}: "{key}" has dtype {dtype}, not numbers')
    return tuple(shape), dtype


def _check_names(headers: dict, expected: dict, model, where: str) -> None:
    missing = [k for k in expected if k not in headers]
    if missing:
        more = f" (and {len(missing) - MAX_LISTED} more)" if len(missing) > MAX_LISTED else ""
        names = ", ".join(f'"{k}"' for k in missing[:MAX_LISTED])
        raise ProjectError(f"{where}: missing {names}{more}: the file was saved from "
                           f"another network")
    extra = [k for k in headers if k not in expected]
    if extra:
        node = extra[0].split("/", 1)[0]
        why = ("the model has no such param" if node in model.layers
               else f'the model has no node "{node}"')
        raise ProjectError(f'{where}: "{extra[0]}" does not fit: {why}')


def _read_arrays(path: Path, where: str, expected: dict) -> dict[str, np.ndarray]:
    out = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key, want in expected.items():
                arr = npz[key]
                if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                    raise ProjectError(f'{where}: "{key}" contains NaN or infinite values')
                out[key] = arr.astype(want.dtype, copy=False)
    except ProjectError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ProjectError(f"{where}: damaged weights file ({exc})") from None
    return out
