"""The file layer on its own: strict JSON reading, the stable writer, atomic writes."""
from __future__ import annotations

import errno
import json
import math
import os
import stat

import pytest

import compute.jsonio as jsonio
from compute.errors import ProjectError
from compute.jsonio import atomic_write, check_tree, dumps_stable, parse_json, short


# -- strict reading ----------------------------------------------------------------------------
def test_parse_json_reads_plain_json():
    text = '{"a": [1, 2.5, -3e2, true, null], "b": {"c": "é\\u00e9"}}'
    assert parse_json(text.encode()) == json.loads(text)
    assert parse_json(b"\xef\xbb\xbf[1]") == [1]          # a byte-order mark is skipped


@pytest.mark.parametrize("text,message", [
    ('{"a": 1,\n  "a": 2}', 'line 2 column 3: duplicate key "a"'),
    ('{"a": {"b": 1, "c": 2, "b": 3}}', 'line 1 column 24: duplicate key "b"'),
    ('{"a": 1}\n{"b"', "line 2 column 1: invalid JSON (Extra data)"),
    ('[1,\n NaN]', "line 2 column 2: NaN is not valid JSON (numbers must be finite)"),
    ('[-Infinity]', "line 1 column 2: -Infinity is not valid JSON"),
    ('[1e400]', "line 1 column 2: number 1e400 is too large"),
    ('[' + "1" * 31 + ']', "line 1 column 2: integer with more than 30 digits"),
    ('[' * 65 + ']' * 65, "line 1 column 65: nested more than 64 levels deep"),
    ('{"x": "\\udc00"}', "line 1 column 7: text is not valid Unicode (lone surrogate)"),
])
def test_parse_json_refusals_name_line_and_column(text, message):
    with pytest.raises(ProjectError) as info:
        parse_json(text.encode())
    assert str(info.value).startswith(message), str(info.value)


def test_parse_json_accepts_the_limits_themselves():
    assert parse_json(("[" + "9" * 30 + "]").encode()) == [10**30 - 1]
    deep = "[" * 64 + "]" * 64
    assert parse_json(deep.encode()) is not None


def test_parse_json_refuses_bad_encoding_and_size(monkeypatch):
    with pytest.raises(ProjectError, match=r"^line 2 column 3: not UTF-8 text \(byte 0xff\)"):
        parse_json(b'[\n  \xff]')
    monkeypatch.setattr(jsonio, "MAX_BYTES", 10)
    with pytest.raises(ProjectError, match="larger than 0 MB"):
        parse_json(b"[" + b" " * 10 + b"]")


@pytest.mark.parametrize("value,message", [
    ({"a": float("nan")}, "number nan is not finite"),
    ([math.inf], "number inf is not finite"),
    ({1: "x"}, "key 1 is not text"),
    ({"s": {1, 2}}, "set is not a JSON value"),
    ([10**30], "integer with more than 30 digits"),
    ("\ud800", "is not valid Unicode"),
])
def test_check_tree_refuses_what_no_file_can_hold(value, message):
    with pytest.raises(ProjectError, match=message):
        check_tree(value)


def test_check_tree_accepts_json_values_and_tuples():
    check_tree({"a": (1, 2.5), "b": [None, True, "x", {"c": []}], "d": -(10**29)})
    deep: list = []
    for _ in range(63):
        deep = [deep]
    check_tree(deep)                       # 64 levels
    with pytest.raises(ProjectError, match="nested more than 64"):
        check_tree([deep])


def test_short_cuts_long_values_and_never_fails():
    assert short("abc") == "'abc'" and short([1, 2]) == "[1, 2]"
    long = short(list(range(100)))
    assert len(long) == 40 and long.endswith("...")
    assert short({1, 2}) == "{1, 2}"            # not JSON: shown as Python shows it


# -- stable writing ----------------------------------------------------------------------------
def test_dumps_stable_layout():
    value = {"top": {"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}],
                     "small": {"x": [1, 2], "y": "é"}, "empty": {}, "none": []}}
    text = dumps_stable(value)
    assert text == (
        '{\n'
        '  "top": {\n'
        '    "items": [\n'
        '      {"id": "a", "n": 1},\n'
        '      {"id": "b", "n": 2}\n'
        '    ],\n'
        '    "small": {"x": [1, 2], "y": "é"},\n'
        '    "empty": {},\n'
        '    "none": []\n'
        '  }\n'
        '}\n')
    assert json.loads(text) == value and dumps_stable(json.loads(text)) == text


def test_dumps_stable_splits_what_does_not_fit():
    value = {"a": {"b": {"long": ["x" * 30, "y" * 30, "z" * 30]}}}
    lines = dumps_stable(value).splitlines()
    assert all(len(line) <= jsonio.WIDTH for line in lines)
    assert '        "' + "x" * 30 + '",' in lines
    with pytest.raises(ValueError):
        dumps_stable({"a": float("nan")})      # callers validate first; never writes NaN


# -- atomic writing ----------------------------------------------------------------------------
def test_atomic_write_creates_and_replaces(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"one"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o600)
    atomic_write(str(path), lambda f: f.write(b"two"))
    assert path.read_bytes() == b"two" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_failures_keep_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def full(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ProjectError, match=r"f\.bin: could not save \(the disk is full\); the "
                                           r"previous file is unchanged"):
        atomic_write(path, full)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]

    def broken(f):                              # not an I/O error: passes through as it is
        f.write(b"half")
        raise KeyError("boom")

    with pytest.raises(KeyError):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path):
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    atomic_write(link, lambda f: f.write(b"new"))
    assert link.is_symlink() and target.read_bytes() == b"new"
