"""Embedding: the harness (with integer inputs), lookups, gradients of repeated tokens,
refusal of bad token ids, and an Embedding -> LSTM model end to end."""
import numpy as np
import pytest

import compute
from compute.errors import TrainingError
from compute.layers import layer_class
from tests.harness import Case, build, run, run_layer_test

CASES = [
    Case("Embedding", {"vocab_size": 5, "dim": 3}, [(4,)], int_inputs={0: (0, 5)}),
    Case("Embedding", {"vocab_size": 7, "dim": 2}, [(2, 3)], int_inputs={0: (0, 7)}),
    Case("Embedding", {"vocab_size": 1, "dim": 4}, [(1,)], int_inputs={0: (0, 1)}),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


def make(vocab=6, dim=3, shape=(4,)):
    cls = layer_class("Embedding")
    layer = cls("emb", cls.config({"vocab_size": vocab, "dim": dim}), [shape])
    return layer, layer.init_params(np.random.default_rng(0))


def test_lookup_rows_and_shape():
    layer, p = make()
    ids = np.array([[0, 5, 2, 2], [1, 1, 1, 3]])
    y = layer.forward(p, [ids], False)
    assert y.shape == (2, 4, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y[1, 3], p["W"][3])
    np.testing.assert_array_equal(y, p["W"][ids])


def test_repeated_tokens_add_their_gradients():
    layer, p = make()
    ids = np.array([[2, 2, 4, 2]])
    layer.forward(p, [ids], True)
    dy = np.arange(12, dtype=np.float32).reshape(1, 4, 3)
    (dx,), grads = layer.backward(p, dy)
    np.testing.assert_array_equal(grads["W"][2], dy[0, 0] + dy[0, 1] + dy[0, 3])
    np.testing.assert_array_equal(grads["W"][4], dy[0, 2])
    assert not np.any(grads["W"][[0, 1, 3, 5]])
    assert dx.shape == ids.shape and not np.any(dx)


@pytest.mark.parametrize("bad", [6, -1, 100])
def test_out_of_range_ids_name_the_node_and_value(bad):
    layer, p = make()
    with pytest.raises(TrainingError, match=rf'"emb" \(Embedding\): token id {bad} is outside 0\.\.5'):
        layer.forward(p, [np.array([[0, bad, 1, 2]])], False)


def test_non_integer_ids_are_refused():
    layer, p = make()
    with pytest.raises(TrainingError, match='"emb".*integer token ids'):
        layer.forward(p, [np.array([[0.5, 1.0, 2.0, 3.0]])], False)
    y = layer.forward(p, [np.array([[0.0, 1.0, 2.0, 3.0]])], False)     # whole floats are fine
    np.testing.assert_array_equal(y[0], p["W"][:4])


def test_initialisation_and_params():
    cls = layer_class("Embedding")
    assert cls.family == "Core" and cls.penalized == ("W",)
    assert cls.summary(cls.config({"vocab_size": 1000, "dim": 32})) == "Embed 1000→32"
    layer, p = make(vocab=50, dim=6)
    limit = np.sqrt(6 / (1 + 6))                     # xavier with fan-in 1
    assert p["W"].shape == (50, 6) and np.abs(p["W"]).max() <= limit
    assert p["W"].std() > limit / 4


def text_model():
    g = compute.Graph()
    g.add_node("tokens", "Input", shape=[6], dtype="int")
    g.add_node("emb", "Embedding", vocab_size=10, dim=4)
    g.add_node("lstm", "LSTM", units=5)
    g.add_node("fc", "Dense", units=3)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("tokens", "emb", "lstm", "fc", "out")
    return g


def test_embedding_feeds_an_lstm_in_a_model():
    g = text_model()
    assert g.infer_shapes().of("emb") == (6, 4)
    model = compute.build_model(g, seed=0)
    ids = np.array([[1, 2, 3, 0, 0, 0], [9, 9, 8, 1, 2, 3]])
    loss, grads = model.loss_and_grads(ids, np.array([0, 2]), diagnostics=True)
    assert np.isfinite(loss)
    used = np.zeros(10, bool)
    used[ids.ravel()] = True
    row_norms = np.abs(grads["emb"]["W"]).sum(axis=1)
    assert np.all(row_norms[used] > 0) and not np.any(row_norms[~used])
    assert "emb" in model.diagnostics["grad_norms"]


def test_out_of_range_id_in_a_model():
    model = compute.build_model(text_model(), seed=0)
    with pytest.raises(TrainingError, match='"emb".*token id 10'):
        model.forward(np.array([[1, 2, 3, 10, 0, 0]]))
