"""The engine learns: the course's classic problems, trained with a plain loop over
compute's public API (no trainer), each in seconds on 2 cores."""
import numpy as np
import pytest

import compute
from compute.optimizers import make_optimizer


def fit(graph, x, y, optimizer, epochs, batch, seed=0):
    model = compute.build_model(graph, seed=seed)
    opt = make_optimizer(optimizer)
    params = model.parameters()
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            _, grads = model.loss_and_grads(x[idx], y[idx])
            opt.step([p for *_, p in params], model.flat_grads(grads, params))
    return model


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.forward(x), axis=-1) == y))


def mlp(inputs, hidden, classes, activation):
    g = compute.Graph()
    g.add_node("x", "Input", shape=[inputs])
    prev = "x"
    for i, units in enumerate(hidden):
        g.add_node(f"h{i}", "Dense", units=units, activation=activation,
                   init="xavier" if activation == "tanh" else "he")
        g.connect(prev, f"h{i}")
        prev = f"h{i}"
    g.add_node("logits", "Dense", units=classes)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain(prev, "logits", "out")
    return g


def test_mlp_learns_xor_perfectly():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    model = fit(mlp(2, [8], 2, "tanh"), x, y, {"type": "momentum", "lr": 0.1}, 300, 4)
    assert accuracy(model, x, y) == 1.0


def test_mlp_separates_two_spirals():
    from compute.data import load_dataset

    d = load_dataset({"dataset": "spirals", "validation_split": 0.2})
    model = fit(mlp(2, [16, 16], 2, "tanh"), d.x_train, d.y_train,
                {"type": "adam", "lr": 0.02}, 200, 16)
    assert accuracy(model, d.x_train, d.y_train) >= 0.97
    assert accuracy(model, d.x_val, d.y_val) >= 0.97


def test_digits_cnn_generalises():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target
    order = np.random.default_rng(0).permutation(len(x))
    train, val = order[:1400], order[1400:]
    g = compute.Graph()
    g.add_node("img", "Input", shape=[1, 8, 8])
    g.add_node("conv1", "Conv2D", filters=8, kernel_size=3, padding="same", activation="relu")
    g.add_node("pool1", "MaxPool2D", pool_size=2)
    g.add_node("flat", "Flatten")
    g.add_node("fc", "Dense", units=10)
    g.add_node("out", "Output")
    g.chain("img", "conv1", "pool1", "flat", "fc", "out")
    model = fit(g, x[train], y[train], {"type": "momentum", "lr": 0.05, "momentum": 0.9}, 10, 32)
    assert accuracy(model, x[val], y[val]) >= 0.95


def remember_first(n, t, rng):
    """The class of a sequence is the sign of its first value; the rest is noise, so the
    answer must be carried across all t steps."""
    x = rng.normal(0, 1, (n, t, 1)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    return x, y


def sequence_model(kind, t):
    g = compute.Graph()
    g.add_node("seq", "Input", shape=[t, 1])
    if kind == "LSTM":
        g.add_node("rnn", "LSTM", units=16)
        g.connect("seq", "rnn")
        head = "rnn"
    else:  # a feed-forward net that sees only the last step's features
        g.add_node("h", "Dense", units=16, activation="tanh")
        g.add_node("last", "Flatten")
        g.connect("seq", "h")
        g.connect("h", "last")
        g.add_node("mix", "Dense", units=16, activation="tanh")
        g.connect("last", "mix")
        head = "mix"
    g.add_node("logits", "Dense", units=2)
    g.add_node("out", "Output")
    g.chain(head, "logits", "out")
    return g


@pytest.mark.parametrize("kind", ["LSTM"])
def test_lstm_remembers_what_a_feed_forward_net_cannot(kind):
    rng = np.random.default_rng(0)
    t = 12
    x, y = remember_first(1200, t, rng)
    xv, yv = remember_first(300, t, rng)
    lstm = fit(sequence_model("LSTM", t), x, y, {"type": "adam", "lr": 0.01}, 15, 32)
    assert accuracy(lstm, xv, yv) >= 0.95
    # A window-less feed-forward net on the last step alone is at chance on this task.
    g = compute.Graph()
    g.add_node("last", "Input", shape=[1])
    g.add_node("h", "Dense", units=16, activation="tanh")
    g.add_node("logits", "Dense", units=2)
    g.add_node("out", "Output")
    g.chain("last", "h", "logits", "out")
    ff = fit(g, x[:, -1], y, {"type": "adam", "lr": 0.01}, 15, 32)
    assert accuracy(ff, xv[:, -1], yv) < 0.65
