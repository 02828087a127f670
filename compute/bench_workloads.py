"""The benchmark's workloads (issue 6): each network as a Netwright graph and as the same
network in PyTorch, and one training step (or inference pass) of each as a closure.

`compute/bench.py` times them; PyTorch is a test-only dependency, imported only when a
PyTorch step is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LR, MOMENTUM = 0.001, 0.9


@dataclass(frozen=True)
class Workload:
    """One network of the issue: a Netwright graph and the same network in PyTorch."""

    key: str
    title: str
    batch: int
    input_shape: tuple[int, ...]
    layers: tuple          # ("conv", filters, k, pad) ("pool",) ("res",) ("dense", units, act)
    # ("rnn"/"lstm"/"gru", units) ("flat",); the last dense is the logits
    classes: int = 10      # 0: one output unit with binary cross-entropy
    act: str = "relu"
    infer: bool = False    # inference-only throughput
    unit: str = "samples/s"


WORKLOADS: dict[str, Workload] = {w.key: w for w in (
    Workload("mlp", "1 MLP 784-512-256-10 relu", 128, (784,),
             (("dense", 512), ("dense", 256), ("dense", 10))),
    Workload("lenet", "2 LeNet-5 1x28x28", 64, (1, 28, 28),
             (("conv", 6, 5, 2), ("pool",), ("conv", 16, 5, 0), ("pool",), ("flat",),
              ("dense", 120), ("dense", 84), ("dense", 10))),
    Workload("resnet", "3 ResNet 3x32x32, 2 blocks", 64, (3, 32, 32),
             (("conv", 16, 3, 1), ("res",), ("res",), ("pool",), ("flat",), ("dense", 10))),
    Workload("lstm", "4 LSTM 32->128, T=50", 64, (50, 32), (("lstm", 128), ("dense", 10))),
    Workload("gru", "4 GRU 32->128, T=50", 64, (50, 32), (("gru", 128), ("dense", 10))),
    Workload("rnn", "4 SimpleRNN 32->128, T=50", 64, (50, 32), (("rnn", 128), ("dense", 10))),
    Workload("tiny", "5 MLP 2-8-8-1 tanh (steps/s)", 32, (2,),
             (("dense", 8), ("dense", 8), ("dense", 1)), classes=0, act="tanh",
             unit="steps/s"),
    Workload("mlp-infer", "6 MLP inference", 128, (784,),
             (("dense", 512), ("dense", 256), ("dense", 10)), infer=True),
    Workload("lenet-infer", "6 LeNet-5 inference", 64, (1, 28, 28),
             (("conv", 6, 5, 2), ("pool",), ("conv", 16, 5, 0), ("pool",), ("flat",),
              ("dense", 120), ("dense", 84), ("dense", 10)), infer=True),
)}
RECURRENT = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def batch_data(w: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One fixed batch: standard-normal inputs and class labels (or 0/1 floats)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((w.batch,) + w.input_shape).astype(np.float32)
    if w.classes:
        return x, rng.integers(0, w.classes, w.batch)
    return x, rng.integers(0, 2, (w.batch, 1)).astype(np.float32)


# -- the two sides ------------------------------------------------------------------------
def netwright_graph(w: Workload):
    """The workload as a Netwright graph (Input -> layers -> Output)."""
    import compute

    g = compute.Graph()
    g.add_node("x", "Input", shape=list(w.input_shape))
    prev, n, channels = "x", len(w.layers), w.input_shape[0]
    for i, spec in enumerate(w.layers):
        kind, name = spec[0], f"l{i}"
        if kind == "dense":
            act = "linear" if i == n - 1 else w.act
            g.add_node(name, "Dense", units=spec[1], activation=act)
        elif kind == "conv":
            g.add_node(name, "Conv2D", filters=spec[1], kernel_size=spec[2], padding=spec[3],
                       activation=w.act)
            channels = spec[1]
        elif kind == "pool":
            g.add_node(name, "MaxPool2D", pool_size=2)
        elif kind == "flat":
            g.add_node(name, "Flatten")
        elif kind == "res":            # conv-relu-conv + Add (the skip)
            for part, act in (("a", "relu"), ("b", "linear")):
                g.add_node(name + part, "Conv2D", filters=channels, kernel_size=3, padding=1,
                           activation=act)
            g.add_node(name, "Add")
            g.chain(prev, name + "a", name + "b", name)
        else:
            g.add_node(name, RECURRENT[kind], units=spec[1])
        g.connect(prev, name, 1 if kind == "res" else 0)
        prev = name
    g.add_node("out", "Output", loss="cross_entropy" if w.classes else "binary_cross_entropy")
    g.connect(prev, "out")
    return g


def torch_net(w: Workload, torch):
    """The same network in PyTorch (GRU is PyTorch's own variant: the cost is the same)."""
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return x + self.b(torch.relu(self.a(x)))

    class LastStep(nn.Module):
        def __init__(self, cell) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, x):
            return self.cell(x)[0][:, -1]

    act = nn.ReLU if w.act == "relu" else nn.Tanh
    mods, shape, n = [], w.input_shape, len(w.layers)
    for i, spec in enumerate(w.layers):
        kind = spec[0]
        if kind == "dense":
            mods.append(nn.Linear(shape[-1], spec[1]))
            if i < n - 1:
                mods.append(act())
            shape = (spec[1],)
        elif kind == "conv":
            mods += [nn.Conv2d(shape[0], spec[1], spec[2], padding=spec[3]), act()]
            side = shape[1] + 2 * spec[3] - spec[2] + 1
            shape = (spec[1], side, side)
        elif kind == "pool":
            mods.append(nn.MaxPool2d(2))
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        elif kind == "flat":
            mods.append(nn.Flatten())
            shape = (int(np.prod(shape)),)
        elif kind == "res":
            mods.append(Residual(shape[0]))
        else:
            cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
            mods.append(LastStep(cls(shape[-1], spec[1], batch_first=True)))
            shape = (spec[1],)
    return nn.Sequential(*mods)


def netwright_step(w: Workload, diagnostics: bool = False) -> Callable[[], None]:
    """A closure running one training step (or one inference pass) of Netwright."""
    import compute
    from compute.optimizers import make_optimizer

    model = compute.build_model(netwright_graph(w), seed=0)
    x, t = batch_data(w)
    if w.infer:
        return lambda: model.forward(x, training=False)
    opt = make_optimizer({"type": "momentum", "lr": LR, "momentum": MOMENTUM})
    params = model.parameters()
    arrays = [a for _, _, a in params]

    def step() -> None:
        _, grads = model.loss_and_grads(x, t, diagnostics=diagnostics)
        opt.step(arrays, model.flat_grads(grads, params))
    step.finite = lambda: all(bool(np.isfinite(a).all()) for a in arrays)
    return step


def torch_step(w: Workload) -> Callable[[], None]:
    """The same step in PyTorch: zero_grad, forward, loss, backward, SGD(momentum)."""
    torch = import_torch()
    net = torch_net(w, torch)
    xn, tn = batch_data(w)
    x, t = torch.from_numpy(xn), torch.from_numpy(tn)
    if w.infer:
        net.eval()

        def infer() -> None:
            with torch.inference_mode():
                net(x)
        return infer
    loss_fn = torch.nn.CrossEntropyLoss() if w.classes else torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), t).backward()
        opt.step()
    step.finite = lambda: all(bool(torch.isfinite(q).all()) for q in net.parameters())
    return step


def import_torch():
    try:
        import torch
    except ImportError:
        raise SystemExit("the benchmark compares with PyTorch, a test-only dependency that is "
                         "not installed: pip install torch (the CPU build is enough)") from None
    return torch
