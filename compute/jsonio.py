"""Strict JSON in, stable JSON out, atomic writes: the file layer under project files.

Reading never trusts its input: bad UTF-8, NaN/Infinity literals, duplicate keys, deep
nesting, huge numbers and huge files become a `ProjectError` that names the line and
column. Writing is stable (the same value always gives the same text, diff-friendly) and
atomic (a temporary file next to the target, then a rename), so the old file survives a
full disk or a killed process. Project files, weights and run folders all write this way.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ProjectError

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
MAX_INT_DIGITS = 30
WIDTH = 100   # lines up to this width keep small objects on one line

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "atomic_write", "check_tree",
           "dumps_stable", "parse_json", "short"]


def short(value: Any) -> str:
    """A value as it would appear in the file, cut to 40 characters for a message."""
    try:
        text = repr(value) if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- strict reading ----------------------------------------------------------------------------
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
    """Strict JSON: UTF-8 only, no NaN/Infinity, no duplicate keys, bounded depth and size.

    A ProjectError's message starts with "line L column C: " wherever the place is known.
    """
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
        raise _located(text, str(exc) if isinstance(exc, _Bad) else "nested too deeply") \
            from None
    try:
        check_tree(value)
    except ProjectError as exc:
        raise _located(text, str(exc), bare=True) from None
    return value


def _located(text: str, reason: str, bare: bool = False) -> ProjectError:
    """The error for a refusal found while parsing, at its line and column when known."""
    found = _locate(text)
    if found is not None:
        return ProjectError(f"{_at(text, found[0])}: {found[1]}")
    return ProjectError(reason if bare else f"invalid JSON ({reason})")


def check_tree(value: Any) -> None:
    """Refuse values no JSON file can hold: deep nesting, non-finite or huge numbers,
    texts that are not valid Unicode, non-text keys (also guards values built in Python)."""
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


# -- stable writing ----------------------------------------------------------------------------
def dumps_stable(value: Any) -> str:
    """JSON with indent 2 and a final newline; from the third level down, an object or list
    that fits in WIDTH characters stays on one line, unless it is a list of objects (so a
    project has one node or edge per line and small settings stay compact)."""
    return _dump(value, 0, "") + "\n"


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


# -- atomic writing ----------------------------------------------------------------------------
def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Call `write(binary_file)` on a temporary file next to `path`, flush it to disk,
    then rename it over `path`.

    On any failure the temporary file is removed, the old file is left as it was, and an
    OSError becomes a ProjectError that names the path. Keeps the old file's permissions;
    through a symlink, replaces the file the link points to and keeps the link.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    mode = _mode_for(path)
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


def _mode_for(path: Path) -> int:
    """The permissions of the file being replaced, or the umask's default for a new one."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
