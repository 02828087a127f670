"""compute/wire.py: messages between the window and its training process, without pickle."""
from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from compute import wire
from compute.events import (Compiling, EpochEnd, Finished, RunStarted, Snapshot, StepEnd)


def roundtrip(message):
    return wire.decode(bytearray(wire.encode(message)))


def test_every_event_comes_back_equal_with_its_arrays():
    snap = Snapshot(
        epoch=2, step=40, inputs=np.arange(12, dtype=np.float32).reshape(3, 4),
        targets={"y": np.array([1, 0, 2], dtype=np.int64)},
        activations={"conv": np.ones((3, 2, 5, 5), np.float32), "out": np.zeros((3, 0))},
        weights={"conv": {"W": np.full((2, 1, 3, 3), 0.5), "b": np.zeros(2, np.float16)}},
        probes={"boundary": {"extent": (0.0, 1.0, -2.0, 2.0), "task": "classification",
                             "train": (np.ones((4, 2)), np.arange(4, dtype=np.uint8))},
                "latent": None})
    events = [RunStarted("p", [{"node": "x", "shape": (1, 28, 28), "params": 0}], 3, 10,
                         640, 160, "classification"),
              Compiling("conv_forward", 1, 0.25),
              StepEnd(1, 1, 0.7, 0.01, 123.4, {"h": {"weights": 0.1, "activations": 0.2}},
                      {"h": {"mean": 0.0, "std": 1.0, "zero_fraction": None,
                             "saturated_fraction": 0.0}}),
              EpochEnd(1, 10, {"loss": 0.5, "val_loss": float("nan")}),
              snap,
              Finished("completed", "done", 3, best_epoch=2, history=[{"loss": 0.5}])]
    back = roundtrip(events)
    assert [type(e) for e in back] == [type(e) for e in events]
    for a, b in zip(events[:4], back[:4]):
        if isinstance(a, EpochEnd):
            assert b.metrics["loss"] == 0.5 and np.isnan(b.metrics["val_loss"])
        else:
            assert a == b
    assert back[5] == events[5]
    s = back[4]
    assert s.epoch == 2 and s.step == 40
    np.testing.assert_array_equal(s.inputs, snap.inputs)
    assert s.inputs.dtype == np.float32 and s.inputs.shape == (3, 4)
    np.testing.assert_array_equal(s.targets["y"], [1, 0, 2])
    assert s.activations["out"].shape == (3, 0)
    assert s.weights["conv"]["b"].dtype == np.float16
    assert s.probes["boundary"]["extent"] == (0.0, 1.0, -2.0, 2.0)        # a tuple again
    train = s.probes["boundary"]["train"]
    assert isinstance(train, tuple) and train[1].dtype == np.uint8
    assert s.probes["latent"] is None
    assert back[0].summary[0]["shape"] == (1, 28, 28)


def test_runs_of_plain_steps_travel_as_columns_and_come_back_equal():
    plain = [StepEnd(1, i, 1.0 / i, 0.1, 100.0 + i) for i in range(1, 8)]
    diag = StepEnd(1, 8, 0.1, 0.1, 108.0, {"h": {"weights": 0.1, "activations": 0.2}}, {})
    odd = StepEnd(1, 9, np.float32(0.5), 0.1, 109.0)          # a NumPy loss: sent alone
    nan = StepEnd(2, 10, float("nan"), 0.1, float("inf"))
    message = [plain[0], "x", *plain[1:4], diag, *plain[4:], odd, nan, plain[0]]
    back = roundtrip(message)
    assert len(back) == len(message)
    for a, b in zip(message, back):
        if a is nan:
            assert np.isnan(b.loss) and b.samples_per_s == float("inf") and b.step == 10
        else:
            assert a == b and type(b) is type(a)
    assert type(back[0].loss) is float and type(back[0].step) is int
    assert type(back[-1].grad_norms) is dict and back[-1].activations == {}
    frame = wire.encode(message)
    (size,) = struct.unpack_from("<I", frame, 8)
    header = json.loads(frame[12:12 + size])
    runs = [x for x in header["body"] if isinstance(x, dict) and "$s" in x]
    # plain[0] alone and `odd` (not plain) go as they are; NaN and inf are plain values
    assert [len(r["$s"][1]) for r in runs] == [3, 3, 2]
    assert roundtrip([]) == [] and roundtrip([plain[0]]) == [plain[0]]


def test_arrays_are_aligned_writable_views_and_non_contiguous_ones_are_sent_as_values():
    a = np.arange(30, dtype=np.float64).reshape(5, 6)[:, ::2]         # not contiguous
    frame = bytearray(wire.encode({"a": a, "b": np.ones(3, np.int8), "c": a.T}))
    back = wire.decode(frame)
    np.testing.assert_array_equal(back["a"], a)
    np.testing.assert_array_equal(back["c"], a.T)
    start = np.frombuffer(frame, np.uint8).ctypes.data
    assert all((back[k].ctypes.data - start) % wire.ALIGN == 0 for k in "abc")
    back["a"][0, 0] = 7.0                       # the receiver may keep and change them
    assert back["a"][0, 0] == 7.0
    ro = wire.decode(bytes(frame))              # read-only bytes: copies
    assert ro["b"].flags.writeable


def test_dicts_with_other_keys_and_numpy_scalars():
    msg = {3: "three", (1, 2): [np.float32(0.5), np.int64(7), np.bool_(True)],
           "$a": "not a marker", "plain": {"x": 1}}
    back = roundtrip(msg)
    assert back == {3: "three", (1, 2): [0.5, 7, True], "$a": "not a marker",
                    "plain": {"x": 1}}
    assert type(back[(1, 2)][1]) is int and type(back[(1, 2)][2]) is bool


def test_a_probe_s_exception_arrives_as_a_remote_error_with_its_text():
    back = roundtrip({"predictions": ValueError("cannot reshape"), "boundary": {"x": 1}})
    assert isinstance(back["predictions"], wire.RemoteError)
    assert str(back["predictions"]) == "ValueError: cannot reshape"
    assert back["boundary"] == {"x": 1}


def test_what_cannot_be_sent_is_named_with_its_place():
    with pytest.raises(wire.WireError, match=r"message\.probes\[0\]\.f: a function"):
        wire.encode({"probes": [{"f": lambda: 0}]})
    with pytest.raises(wire.WireError, match=r"dtype object"):
        wire.encode({"a": np.array([None, 1], dtype=object)})
    with pytest.raises(wire.WireError, match="set"):
        wire.encode({1, 2})


def _frame(header: dict, data: bytes = b"") -> bytearray:
    h = json.dumps(header).encode()
    body = struct.pack("<I", len(h)) + h + data
    return bytearray(struct.pack("<Q", len(body)) + body)


@pytest.mark.parametrize("header, data, match", [
    ({"v": 1, "arrays": [], "body": 1}, b"", "version-2"),
    ({"v": 2, "arrays": [["|O", [1], 0]], "body": 1}, b"\0" * 8, "array 0"),
    ({"v": 2, "arrays": [["<f8", [4], 0]], "body": {"$a": 0}}, b"\0" * 8, "past the end"),
    ({"v": 2, "arrays": [["<f8", [-1], 0]], "body": 1}, b"", "array 0"),
    ({"v": 2, "arrays": [], "body": {"$a": 0}}, b"", "no array 0"),
    ({"v": 2, "arrays": [], "body": {"x": {"$e": "Trainer", "f": {}}}},
     b"", r"message\.x: an unknown marker"),
    ({"v": 2, "arrays": [], "body": {"$e": "StepEnd", "f": {"epoch": 1}}}, b"",
     "a StepEnd with the fields"),
    ({"v": 2, "arrays": [], "body": {"$d": [[[1], 2]]}}, b"", "key of type list"),
    ({"v": 2, "arrays": [], "body": {"$e": "os.system", "f": {}}}, b"", "unknown marker"),
    ({"v": 2, "arrays": [], "body": [0, {"$s": [[1], [1], [0.5], [0.1]]}]}, b"",
     r"message\[1\]: steps that are not 5 columns"),
    ({"v": 2, "arrays": [], "body": [{"$s": [[1, 1], [1], [0.5], [0.1], [9.0]]}]}, b"",
     "steps that are not"),
    ({"v": 2, "arrays": [], "body": [{"$s": [[1], [1], [[0.5]], [0.1], [9.0]]}]}, b"",
     "plain values"),
    ({"v": 2, "arrays": [], "body": {"$s": [[1], [1], [0.5], [0.1], [9.0]]}}, b"",
     "unknown marker"),                                       # steps only inside a list
])
def test_bad_frames_are_refused_with_what_is_wrong(header, data, match):
    with pytest.raises(wire.WireError, match=match):
        wire.decode(_frame(header, data))


def test_a_frame_whose_length_disagrees_or_whose_header_is_not_json():
    frame = wire.encode([1, 2])
    with pytest.raises(wire.WireError, match="length field"):
        wire.decode(frame[:-1])
    bad = bytearray(frame)
    bad[12] = ord("#")
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.decode(bad)


def test_streams_carry_frames_one_after_another_and_end_cleanly():
    stream = io.BytesIO()
    wire.write(stream, ("run", {"x": np.arange(3)}))
    wire.write(stream, ("stop",))
    stream.seek(0)
    first = wire.read(stream)
    assert first[0] == "run" and first[1]["x"].tolist() == [0, 1, 2]
    assert wire.read(stream) == ("stop",)
    with pytest.raises(EOFError):
        wire.read(stream)
    cut = io.BytesIO(wire.encode(("stop",))[:-2])
    with pytest.raises(wire.WireError, match="inside a frame"):
        wire.read(cut)
    huge = io.BytesIO(struct.pack("<Q", wire.MAX_FRAME + 1))
    with pytest.raises(wire.WireError, match="broken"):
        wire.read(huge)
