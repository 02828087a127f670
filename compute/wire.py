"""Messages as bytes between two processes (the window and its trainer), without pickle.

A message is a tree of None, bools, numbers, strings, lists, tuples, dicts, NumPy arrays
and the trainer's events (`compute.events`). One frame carries one message:

    8 bytes   the length of the rest (little-endian)
    4 bytes   the length of the header
    header    JSON: {"v": 1, "arrays": [[dtype, shape, offset], ...], "body": tree}
    arrays    the arrays' bytes, each starting at a multiple of 16

In the JSON tree, an object with a key that begins with "$" is a marker: {"$a": i} is
array i, {"$t": [...]} a tuple, {"$d": [[key, value], ...]} a dict whose keys are not
all plain strings (or one that begins with "$"), {"$e": name, "f": {...}} an event, and
{"$x": "Type: message"} an exception (a probe that failed), which arrives as a
`RemoteError` with that text. In a list, {"$s": [epochs, steps, losses, lrs, rates]}
stands for a run of `StepEnd`s without diagnostics, one column per field: most of a fast
run's messages, which cost a third as much or less to encode and decode so.
Decoding builds only the event classes it knows and arrays of plain numeric dtypes:
whatever arrives, it can only make data, never run code. Anything else is a WireError
that says where it is.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import struct
from typing import Any, BinaryIO

import numpy as np

from . import events
from .errors import NetwrightError

VERSION = 2
ALIGN = 16
MAX_FRAME = 1 << 34              # 16 GiB: a length beyond this is a broken stream
DTYPES = {np.dtype(t).str for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                                    "f2", "f4", "f8", "c8", "c16")}
EVENTS = {cls.__name__: cls for cls in (events.RunStarted, events.Compiling,
                                        events.StepEnd, events.EpochEnd, events.Snapshot,
                                        events.Finished)}
_FIELDS = {name: tuple(f.name for f in dataclasses.fields(cls))
           for name, cls in EVENTS.items()}


_PLAIN = {type(None), str, bool, int, float}
# a StepEnd's fields sent as columns ("$s"); its other fields are the diagnostics
STEP_COLUMNS = _FIELDS["StepEnd"][:5]
assert _FIELDS["StepEnd"][5:] == ("grad_norms", "activations")


class WireError(NetwrightError):
    """A message that cannot be encoded, or bytes that are not a valid frame."""


class RemoteError(Exception):
    """An exception raised in the other process, as its type's name and message."""


# -- encoding ----------------------------------------------------------------------------
def encode(message: Any) -> bytes:
    """One frame holding `message` (see the module docstring for what it may contain)."""
    arrays: list[np.ndarray] = []
    try:
        body = _enc(message, arrays)
    except _Bad as exc:
        raise _named(exc) from None
    specs, offset = [], 0
    for a in arrays:
        offset = -(-offset // ALIGN) * ALIGN
        specs.append([a.dtype.str, list(a.shape), offset])
        offset += a.nbytes
    header = json.dumps({"v": VERSION, "arrays": specs, "body": body},
                        separators=(",", ":")).encode()
    start = 12 + len(header)
    pad = -start % ALIGN                 # arrays aligned within the frame as well
    header += b" " * pad
    out = bytearray(start + pad + offset)
    struct.pack_into("<QI", out, 0, len(out) - 8, len(header))
    out[12:12 + len(header)] = header
    base = 12 + len(header)
    for a, (_, _, off) in zip(arrays, specs):
        out[base + off:base + off + a.nbytes] = a.tobytes()
    return bytes(out)


def _enc(v: Any, arrays: list) -> Any:
    t = type(v)
    if v is None or t is str or t is bool or t is int or t is float:
        return v
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in v):
            if all(type(x) in _PLAIN for x in v.values()):
                return v                       # JSON as it is (most of a StepEnd)
            return {k: _inside(k, _enc, x, arrays) for k, x in v.items()}
        return {"$d": [[_inside("key", _enc, k, arrays), _inside(k, _enc, x, arrays)]
                       for k, x in v.items()]}
    if t is list:
        return _enc_list(v, arrays)
    if t is tuple:
        return {"$t": [_inside(i, _enc, x, arrays) for i, x in enumerate(v)]}
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        if a.dtype.str not in DTYPES:
            raise _Bad(f"arrays of dtype {a.dtype} cannot be sent")
        arrays.append(a)
        return {"$a": len(arrays) - 1}
    if isinstance(v, np.generic) and np.dtype(v.dtype).str in DTYPES:
        return v.item()
    name = t.__name__
    if name in EVENTS and t is EVENTS[name]:
        return {"$e": name, "f": _enc({f: getattr(v, f) for f in _FIELDS[name]}, arrays)}
    if isinstance(v, Exception):
        return {"$x": f"{name}: {v}"}
    for base in (bool, int, float, str):        # subclasses: an IntEnum, a str-like
        if isinstance(v, base):
            return base(v)
    raise _Bad(f"a {name} cannot be sent")


def _enc_list(v: list, arrays: list) -> list:
    """The items of a list, with each run of two or more plain steps as one "$s"."""
    out: list = []
    for plain, run in itertools.groupby(enumerate(v), lambda item: _plain_step(item[1])):
        run = list(run)
        if plain and len(run) > 1:
            out.append({"$s": [[getattr(x, f) for _, x in run] for f in STEP_COLUMNS]})
        else:
            out.extend(_inside(i, _enc, x, arrays) for i, x in run)
    return out


def _plain_step(x: Any) -> bool:
    """A StepEnd without diagnostics whose fields are plain values (decoded exactly)."""
    return type(x) is events.StepEnd and type(x.grad_norms) is dict and \
        type(x.activations) is dict and not x.grad_norms and not x.activations and \
        all(type(getattr(x, f)) in _PLAIN for f in STEP_COLUMNS)


class _Bad(Exception):
    """What is wrong, and the keys on the way to it (added as it rises)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what, self.path = what, []


def _inside(key: Any, f, v: Any, arrays: list) -> Any:
    """f(v, arrays), naming `key` in the path of an error below (try is free in 3.11)."""
    try:
        return f(v, arrays)
    except _Bad as exc:
        exc.path.append(key)
        raise


def _named(exc: _Bad) -> WireError:
    where = "message" + "".join(f".{k}" if isinstance(k, str) and k.isidentifier()
                                else f"[{k!r}]" for k in reversed(exc.path))
    return WireError(f"{where}: {exc.what}")


# -- decoding ----------------------------------------------------------------------------
def decode(frame: bytes | bytearray | memoryview) -> Any:
    """The message in `frame` (as `encode` made it). Arrays are views into the frame's
    memory (no copy) when it is writable, else copies."""
    buf = memoryview(frame)
    if len(buf) < 12 or struct.unpack_from("<Q", buf, 0)[0] != len(buf) - 8:
        raise WireError(f"a frame of {len(buf)} bytes whose length field disagrees")
    buf = buf[8:]
    (hlen,) = struct.unpack_from("<I", buf, 0)
    if 4 + hlen > len(buf):
        raise WireError(f"a header of {hlen} bytes in a frame of {len(buf)}")
    try:
        header = json.loads(bytes(buf[4:4 + hlen]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"the header is not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("v") != VERSION or \
            not isinstance(header.get("arrays"), list) or "body" not in header:
        raise WireError(f"the header is not a version-{VERSION} message header")
    data = buf[4 + hlen:]
    arrays = [_array(spec, data, i) for i, spec in enumerate(header["arrays"])]
    try:
        return _dec(header["body"], arrays)
    except _Bad as exc:
        raise _named(exc) from None


def _array(spec: Any, data: memoryview, i: int) -> np.ndarray:
    try:
        dtype, shape, offset = spec
        if dtype not in DTYPES or not all(type(n) is int and n >= 0 for n in shape) \
                or type(offset) is not int or offset < 0:
            raise ValueError
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
    except (TypeError, ValueError):
        raise WireError(f"array {i}: a bad description {spec!r}") from None
    end = offset + count * dt.itemsize
    if end > len(data):
        raise WireError(f"array {i}: {end - len(data)} bytes past the end of the frame")
    a = np.frombuffer(data[offset:end], dtype=dt).reshape(shape)
    return a if not data.readonly else a.copy()


def _dec(v: Any, arrays: list) -> Any:
    t = type(v)
    if t is list:
        out = []
        for i, x in enumerate(v):
            if type(x) is dict and "$s" in x and len(x) == 1:
                out.extend(_inside(i, _steps, x["$s"], arrays))
            else:
                out.append(_inside(i, _dec, x, arrays))
        return out
    if t is not dict:
        return v
    if not any(k.startswith("$") for k in v):
        return {k: _inside(k, _dec, x, arrays) for k, x in v.items()}
    if len(v) == 1 and "$a" in v:
        i = v["$a"]
        if type(i) is not int or not 0 <= i < len(arrays):
            raise _Bad(f"no array {i!r} in the frame")
        return arrays[i]
    if len(v) == 1 and type(v.get("$t")) is list:
        return tuple(_inside(i, _dec, x, arrays) for i, x in enumerate(v["$t"]))
    if len(v) == 1 and type(v.get("$d")) is list:
        out = {}
        for pair in v["$d"]:
            if type(pair) is not list or len(pair) != 2:
                raise _Bad("a dict entry that is not a pair")
            key = _inside("key", _dec, pair[0], arrays)
            try:
                hash(key)
            except TypeError:
                raise _Bad(f"a dict key of type {type(key).__name__}") from None
            out[key] = _inside(key, _dec, pair[1], arrays)
        return out
    if len(v) == 1 and type(v.get("$x")) is str:
        return RemoteError(v["$x"])
    if set(v) == {"$e", "f"} and v["$e"] in EVENTS and type(v["f"]) is dict:
        name, fields = v["$e"], v["f"]
        if set(fields) != set(_FIELDS[name]):
            raise _Bad(f"a {name} with the fields {sorted(fields)}")
        return EVENTS[name](**{k: _inside(k, _dec, x, arrays) for k, x in fields.items()})
    raise _Bad(f"an unknown marker {sorted(v)!r}")


def _steps(columns: Any, _arrays: list) -> list:
    """The StepEnds of a "$s" (see `_enc_list`)."""
    if type(columns) is not list or len(columns) != len(STEP_COLUMNS) or \
            any(type(c) is not list or len(c) != len(columns[0]) for c in columns) or \
            any(type(x) not in _PLAIN for c in columns for x in c):
        raise _Bad(f"steps that are not {len(STEP_COLUMNS)} columns of plain values")
    return [events.StepEnd(*fields) for fields in zip(*columns)]


# -- streams -----------------------------------------------------------------------------
def write(stream: BinaryIO, message: Any) -> None:
    """Encode `message` and write it as one frame (then flush)."""
    stream.write(encode(message))
    stream.flush()


def read(stream: BinaryIO) -> Any:
    """The next message from `stream`; EOFError at a clean end between frames."""
    head = bytearray(8)
    _fill(stream, memoryview(head), at_start=True)
    (n,) = struct.unpack("<Q", head)
    if n > MAX_FRAME:
        raise WireError(f"a frame of {n} bytes: the stream is broken")
    frame = bytearray(8 + n)              # one buffer: the arrays are views into it
    frame[:8] = head
    _fill(stream, memoryview(frame)[8:], at_start=False)
    return decode(frame)


def _fill(stream: BinaryIO, view: memoryview, at_start: bool) -> None:
    got, n = 0, len(view)
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            if got == 0 and at_start:
                raise EOFError("the stream ended")
            raise WireError(f"the stream ended inside a frame ({got} of {n} bytes)")
        got += k


__all__ = ["encode", "decode", "write", "read", "WireError", "RemoteError", "EVENTS"]
