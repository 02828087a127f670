"""Importers for tabular files: CSV and NPZ.

A person's own file is the most likely place for bad input, so every problem is reported
with the file as written in the project and, where there is one, the line and column
(``data: CSV file data/x.csv line 7: expected 5 columns, got 4``). Nothing is unpickled:
NPZ archives load with ``allow_pickle=False``.
"""
from __future__ import annotations

import csv
import difflib
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import ProjectError
from ..params import Param
from .base import DataParam, Raw, Source, source

TASK = Param("task", "choice", "auto", "auto: classification for text or few integer "
             "targets, otherwise regression", choices=("auto", "classification", "regression"))
MAX_AUTO_CLASSES = 20     # integer targets with more distinct values are taken as regression
MAX_CATEGORIES = 100      # a text feature column with more values is refused
MAX_CLASSES = 1000
DELIMITERS = {",": ",", ";": ";", "|": "|", "tab": "\t", "space": " "}


def existing_file(src: Source, path: str, what: str) -> Path:
    """The resolved path of a file the project names, or a ProjectError saying why not."""
    full = src.resolve(path)
    if not full.exists():
        raise ProjectError(f"{src.where}: {what} {path}: no such file (looked in {full})")
    if not full.is_file():
        raise ProjectError(f"{src.where}: {what} {path}: not a file")
    return full


# -- CSV ---------------------------------------------------------------------------------
@source("csv", "CSV file", (
    DataParam("path", "path", "", "the CSV file, relative to the project file"),
    DataParam("target", "column", -1, "target column: header name or index (-1 = last)"),
    Param("delimiter", "choice", ",", "field separator", choices=tuple(DELIMITERS)),
    Param("header", "bool", True, "the first row holds column names"),
    TASK,
    Param("standardize", "bool", True, "scale numeric features to mean 0 and standard "
          "deviation 1 (statistics from the training split only)"),
), "auto", "A table with one sample per row: numeric columns become features, text "
   "columns one-hot features; the target column gives class labels or values.")
def import_csv(cfg: dict, src: Source) -> Raw:
    path = cfg["path"]
    names, rows, lines = _read_csv(existing_file(src, path, "CSV file"), path, cfg, src)
    place = f"{src.where}: CSV file {path}"
    t = _target_index(names, cfg["target"], f"{src.where}.params.target: CSV file {path}")
    columns = list(zip(*rows))
    feats, numeric = [], []
    for j, col in enumerate(columns):
        if j == t:
            continue
        block, is_num = _feature(col, names[j], lines, place)
        feats.append(block)
        numeric += [is_num] * block.shape[1]
    if not feats:
        raise ProjectError(f"{place}: no feature columns besides the target")
    x = np.concatenate(feats, axis=1).astype(np.float32)
    raw = _target(columns[t], names[t], lines, place, cfg["task"], x)
    if cfg["standardize"]:
        raw.standardize = np.array(numeric, bool)
    raw.description = (f"CSV {Path(path).name}: {x.shape[0]} rows, {x.shape[1]} features, "
                       f"target \"{names[t]}\" ({raw.task})")
    return raw


def _read_csv(full: Path, path: str, cfg: dict, src: Source):
    """Header names, rows of stripped cells and their line numbers; refuses ragged rows."""
    place = f"{src.where}: CSV file {path}"
    try:
        with open(full, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=DELIMITERS[cfg["delimiter"]],
                                skipinitialspace=True)
            rows, lines = [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                rows.append([c.strip() for c in row])
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise ProjectError(f"{place}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise ProjectError(f"{place} line {reader.line_num}: {exc}") from None
    except OSError as exc:
        raise ProjectError(f"{place}: cannot read ({exc.strerror or exc})") from None
    if not rows:
        raise ProjectError(f"{place}: the file is empty")
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise ProjectError(f"{place} line {line}: expected {width} columns, "
                               f"got {len(row)}")
    if cfg["header"]:
        names, rows, lines = rows[0], rows[1:], lines[1:]
    else:
        names = [str(i) for i in range(width)]
    if not rows:
        raise ProjectError(f"{place}: no data rows")
    if width < 2:
        raise ProjectError(f"{place}: needs at least two columns (features and a target)")
    return names, rows, lines


def _target_index(names: list[str], target: str | int, place: str) -> int:
    if isinstance(target, int):
        if not -len(names) <= target < len(names):
            raise ProjectError(f"{place} has no column {target} (it has {len(names)} columns)")
        return target % len(names)
    if target in names:
        return names.index(target)
    hint = difflib.get_close_matches(target, names, n=1)
    extra = f' (did you mean "{hint[0]}"?)' if hint else ""
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    raise ProjectError(f'{place} has no column "{target}"{extra}; columns: {shown}')


def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _fast_numbers(col) -> np.ndarray | None:
    """The column as finite floats in one NumPy call, or None (then cells are checked)."""
    try:
        out = np.array(col, dtype=np.float64)
    except ValueError:
        return None
    return out if np.all(np.isfinite(out)) else None


def _numbers(col, name: str, lines: list[int], place: str, why: str = "") -> np.ndarray:
    """The column as floats, or a ProjectError at the first cell that is not a number."""
    fast = _fast_numbers(col)
    if fast is not None:
        return fast
    out = np.empty(len(col))
    for i, cell in enumerate(col):
        v = _number(cell)
        if v is None:
            what = "empty value" if not cell else f'"{cell}" is not a finite number'
            raise ProjectError(f'{place} line {lines[i]} column "{name}": {what}{why}')
        out[i] = v
    return out


def _feature(col, name: str, lines: list[int], place: str) -> tuple[np.ndarray, bool]:
    """A numeric column as (N, 1), or a mostly-text column one-hot encoded as (N, k)."""
    fast = _fast_numbers(col)
    if fast is not None:
        return fast[:, None], True
    parsed = sum(_number(c) is not None for c in col)
    if parsed * 2 >= len(col):     # mostly numbers: the rest are typos to report
        return _numbers(col, name, lines, place)[:, None], True
    if "" in col:
        raise ProjectError(f'{place} line {lines[col.index("")]} column "{name}": empty value')
    cats = sorted(set(col))
    if len(cats) > MAX_CATEGORIES:
        raise ProjectError(f'{place} column "{name}": {len(cats)} distinct text values are '
                           f"too many categories (at most {MAX_CATEGORIES})")
    codes = np.searchsorted(np.array(cats), np.array(col))
    return np.eye(len(cats))[codes], False


def _target(col, name: str, lines: list[int], place: str, task: str, x: np.ndarray) -> Raw:
    fast = _fast_numbers(col)
    values = fast.tolist() if fast is not None else [_number(c) for c in col]
    numeric = all(v is not None for v in values)
    if task == "regression" or (task == "auto" and numeric and not _few_integers(values)):
        y = _numbers(col, name, lines, place, " (a regression target must be numeric)")
        return Raw(x, y[:, None].astype(np.float32), "regression", "")
    if "" in col:
        raise ProjectError(f'{place} line {lines[col.index("")]} column "{name}": empty value')
    if numeric:
        uniq = sorted(set(values))
        labels = [f"{v:g}" for v in uniq]
        y = np.searchsorted(np.array(uniq), np.array(values))
    else:
        labels = sorted(set(col))
        y = np.searchsorted(np.array(labels), np.array(col))
    if len(labels) > MAX_CLASSES:
        raise ProjectError(f'{place} column "{name}": {len(labels)} classes are too many '
                           f"(at most {MAX_CLASSES}); use task regression for numbers")
    return Raw(x, y.astype(np.int64), "classification", "", len(labels), labels)


def _few_integers(values: list[float]) -> bool:
    return all(v == int(v) for v in values) and len(set(values)) <= MAX_AUTO_CLASSES


# -- NPZ ---------------------------------------------------------------------------------
@source("npz", "NPZ arrays", (
    DataParam("path", "path", "", "the .npz file, relative to the project file"),
    TASK,
    Param("tokens", "bool", False, "X holds integer token ids (for an Embedding)"),
), "auto", "NumPy arrays X (samples first: (N, F), (N, C, H, W), (N, T, F) or token ids "
   "(N, T)) and y (class indices or values), optionally class_names (strings).")
def import_npz(cfg: dict, src: Source) -> Raw:
    path = cfg["path"]
    place = f"{src.where}: NPZ file {path}"
    arrays = _read_npz(existing_file(src, path, "NPZ file"), place)
    x, y = arrays["X"], arrays["y"]
    if x.ndim < 2 or x.shape[0] == 0:
        raise ProjectError(f"{place}: X must have a sample axis and a feature axis, "
                           f"got shape {x.shape}")
    if y.ndim < 1 or y.shape[0] != x.shape[0]:
        raise ProjectError(f"{place}: X has {x.shape[0]} samples but y has shape {y.shape}")
    for key, arr in (("X", x), ("y", y)):
        if arr.dtype.kind not in "fiub":
            raise ProjectError(f'{place}: array "{key}" must be numeric, got dtype {arr.dtype}')
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ProjectError(f'{place}: array "{key}" holds NaN or infinite values')
    if cfg["tokens"]:
        if x.dtype.kind == "f" and not np.all(x == np.round(x)) or x.min() < 0:
            raise ProjectError(f"{place}: token ids in X must be integers >= 0")
        x = x.astype(np.int64)
    else:
        x = x.astype(np.float32)
    raw = _npz_target(y, arrays.get("class_names"), cfg["task"], place, x)
    raw.input_dtype = "int" if cfg["tokens"] else "float"
    raw.description = f"NPZ {Path(path).name}: {x.shape[0]} samples of shape " \
                      f"{x.shape[1:]} ({raw.task})"
    return raw


def _read_npz(full: Path, place: str) -> dict[str, np.ndarray]:
    try:
        with open(full, "rb") as f:
            zipped = f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
        if not zipped:      # checked first so that np.load never considers a pickle
            raise ProjectError(f"{place}: not an .npz archive (save with numpy.savez)")
        with np.load(full, allow_pickle=False) as archive:
            keys = list(archive.keys())
            for key in ("X", "y"):
                if key not in keys:
                    raise ProjectError(f'{place} has no array "{key}" (it has: '
                                       f'{", ".join(keys) or "nothing"})')
            return {k: archive[k] for k in ("X", "y", "class_names") if k in keys}
    except ValueError as exc:   # object arrays refuse to load without pickle
        why = "holds Python objects, which are never unpickled" if "pickle" in str(exc) \
            else f"cannot read ({exc})"
        raise ProjectError(f"{place}: {why}") from None
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ProjectError(f"{place}: cannot read ({exc})") from None


def _npz_target(y: np.ndarray, names, task: str, place: str, x: np.ndarray) -> Raw:
    if task == "regression" or (task == "auto" and y.dtype.kind == "f"):
        y = y.astype(np.float32)
        return Raw(x, y[:, None] if y.ndim == 1 else y, "regression", "")
    if y.dtype.kind == "f" and not np.all(y == np.round(y)) or y.min() < 0:
        raise ProjectError(f"{place}: class labels in y must be integers >= 0")
    y = y.astype(np.int64)
    k = int(y.max()) + 1
    if k > MAX_CLASSES:
        raise ProjectError(f"{place}: class labels go up to {k - 1}; at most {MAX_CLASSES} "
                           f"classes (use task regression for values)")
    if names is not None:
        if names.dtype.kind not in "US" or names.ndim != 1 or len(names) < k:
            raise ProjectError(f"{place}: class_names must be {k} or more strings")
        labels = [str(s) for s in names.astype(str)]
    else:
        labels = [str(i) for i in range(k)]
    return Raw(x, y, "classification", "", len(labels), labels)
