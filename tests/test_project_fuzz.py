"""Property-based fuzzing of the project loader: whatever the input, the only exception that
comes out is a NetwrightError (a message for a person, never a traceback)."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compute.errors import NetwrightError
from compute.project import Project, dumps_project, parse_project
from tests.test_project import FULL, V0

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# words that the loader gives meaning to, so that random documents reach deep code paths
WORDS = ["format", "netwright", "version", "name", "graph", "nodes", "edges", "id", "type",
         "params", "position", "source", "target", "port", "data", "dataset", "training",
         "optimizer", "lr", "schedule", "epochs", "batch_size", "augmentation", "labels",
         "input", "Input", "Dense", "Output", "Add", "Concat", "units", "shape", "spirals",
         "digits", "csv", "path", "adam", "step", "gradient_clip", "norm", "early_stopping",
         "layers", "links", "from", "to", "x", "h1", "out", "noise", "std", "seed"]
scalars = (st.none() | st.booleans() | st.integers(-10**40, 10**40) | st.floats()
           | st.sampled_from(WORDS) | st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=5), inner, max_size=4),
    max_leaves=25)


def loads_cleanly(data: bytes) -> None:
    try:
        project = parse_project(data, "fuzz.netw")
    except NetwrightError:
        return
    # what loads must also save and load back to the same content
    text = dumps_project(project.to_dict())
    assert parse_project(text.encode(), "again.netw").to_dict() == project.to_dict()


@FUZZ
@given(json_values)
def test_random_documents(doc):
    loads_cleanly(json.dumps(doc).encode())     # may hold NaN literals: refused, not crashed
    try:
        Project.from_dict(doc)
    except NetwrightError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from(WORDS), json_values, max_size=6))
def test_random_documents_that_look_like_projects(extra):
    base = {"format": "netwright", "version": 1}
    loads_cleanly(json.dumps({**base, **extra}).encode())
    loads_cleanly(json.dumps({**base, "version": 0, **extra}).encode())


def paths(value, prefix=()):
    """Every place in a document, as a tuple of keys/indices."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def mutate(doc, where, action, value):
    doc = copy.deepcopy(doc)
    if not where:
        return value
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    key = where[-1]
    if action == "replace":
        parent[key] = value
    elif action == "delete":
        del parent[key]
    elif isinstance(parent, dict):
        parent[f"{key}_extra"] = value
    else:
        parent.insert(key, value)
    return doc


@FUZZ
@given(st.data(), st.sampled_from([FULL, V0]))
def test_mutations_of_valid_projects(data, base):
    doc = base
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(list(paths(doc))))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        doc = mutate(doc, where, action, data.draw(json_values))
    loads_cleanly(json.dumps(doc).encode())


@FUZZ
@given(st.data())
def test_byte_level_corruption(data):
    text = bytearray(json.dumps(FULL, indent=2).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        i = data.draw(st.integers(0, len(text) - 1))
        if kind == "truncate":
            del text[i:]
        elif kind == "flip":
            text[i] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            text[i:i] = data.draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
                [b"NaN", b"1e999", b"[", b"{", b'"', b"\\", b",", b'"a": 1,']))
        else:
            del text[i:i + data.draw(st.integers(1, 10))]
        if not text:
            break
    loads_cleanly(bytes(text))


@FUZZ
@given(st.recursive(st.none() | st.floats() | st.integers() | st.text(max_size=3)
                    | st.binary(max_size=3) | st.just(object()),
                    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                    | st.frozensets(st.integers(), max_size=2)
                    | st.dictionaries(st.integers() | st.text(max_size=3) | st.none(), inner,
                                      max_size=3), max_leaves=10))
def test_from_dict_with_any_python_value(value):
    for doc in (value, {**FULL, "training": value}, {**FULL, "data": value},
                {**FULL, "graph": {"nodes": [value], "edges": []}}):
        try:
            Project.from_dict(doc)
        except NetwrightError:
            pass
