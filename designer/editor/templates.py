"""Templates: classic architectures and blocks, inserted as connected graph fragments.

A template is a function from the shape arriving at it (the output of the selected node,
or None) to a `Spec`: nodes and edges in the project file's form, the ports that the
upstream node feeds (``entries``) and the node that ends the block (``exit``). Full
networks start with an Input and have no entries. Ids are made unique on insertion and
positions come from the auto-layout. No Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from compute import Graph, layer_types

from .layout import auto_layout

Shape = tuple[int, ...] | None


@dataclass
class Spec:
    nodes: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    entries: list[tuple[str, int]] = field(default_factory=list)
    exit: str | None = None

    def add(self, node_id: str, type_name: str, **params) -> str:
        self.nodes.append({"id": node_id, "type": type_name, "params": params})
        return node_id

    def chain(self, *items: tuple) -> list[str]:
        """Add nodes (id, type, params) and connect each to the next (port 0)."""
        ids = [self.add(item[0], item[1], **(item[2] if len(item) > 2 else {}))
               for item in items]
        for a, b in zip(ids, ids[1:]):
            self.link(a, b)
        return ids

    def link(self, source: str, target: str, port: int = 0) -> None:
        self.edges.append({"source": source, "target": target, "port": port})

    def fragment(self) -> dict:
        """Nodes with positions (laid out from the origin) and the internal edges."""
        g = Graph.from_dict({"nodes": self.nodes, "edges": self.edges})
        pos = auto_layout(g, max_width=1500.0)
        nodes = [{**n, "position": list(pos[n["id"]])} for n in self.nodes]
        return {"nodes": nodes, "edges": list(self.edges)}

    def types(self) -> set[str]:
        return {n["type"] for n in self.nodes}


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    doc: str
    build: Callable[[Shape], Spec]
    example_input: tuple[int, ...] | None = None   # for blocks: a shape they accept

    def missing_types(self) -> list[str]:
        """Layer types this template needs that are not registered (it is then disabled)."""
        known = layer_types()
        return sorted(t for t in self.build(self.example_input).types() if t not in known)


def _lenet5(_: Shape) -> Spec:
    s = Spec()
    s.chain(("input", "Input", {"shape": [1, 32, 32]}),
            ("conv1", "Conv2D", {"filters": 6, "kernel_size": 5, "activation": "tanh"}),
            ("pool1", "AvgPool2D", {"pool_size": 2}),
            ("conv2", "Conv2D", {"filters": 16, "kernel_size": 5, "activation": "tanh"}),
            ("pool2", "AvgPool2D", {"pool_size": 2}),
            ("flatten", "Flatten"),
            ("fc1", "Dense", {"units": 120, "activation": "tanh"}),
            ("fc2", "Dense", {"units": 84, "activation": "tanh"}),
            ("fc3", "Dense", {"units": 10}),
            ("output", "Output", {"loss": "cross_entropy"}))
    return s


def _alexnet(_: Shape) -> Spec:
    s = Spec()

    def conv(i: str, f: int, k: int) -> tuple:
        return (i, "Conv2D", {"filters": f, "kernel_size": k, "padding": "same",
                              "activation": "relu"})

    s.chain(("input", "Input", {"shape": [3, 32, 32]}),
            conv("conv1", 32, 5), ("pool1", "MaxPool2D", {"pool_size": 2}),
            conv("conv2", 64, 3), ("pool2", "MaxPool2D", {"pool_size": 2}),
            conv("conv3", 96, 3), conv("conv4", 96, 3), conv("conv5", 64, 3),
            ("pool3", "MaxPool2D", {"pool_size": 2}), ("flatten", "Flatten"),
            ("fc1", "Dense", {"units": 256, "activation": "relu"}),
            ("drop1", "Dropout", {"rate": 0.5}),
            ("fc2", "Dense", {"units": 256, "activation": "relu"}),
            ("drop2", "Dropout", {"rate": 0.5}),
            ("fc3", "Dense", {"units": 10}),
            ("output", "Output", {"loss": "cross_entropy"}))
    return s


def _vgg_block(_: Shape) -> Spec:
    s = Spec()
    ids = s.chain(("vgg_conv1", "Conv2D", {"filters": 64, "kernel_size": 3, "padding": "same",
                                           "activation": "relu"}),
                  ("vgg_conv2", "Conv2D", {"filters": 64, "kernel_size": 3, "padding": "same",
                                           "activation": "relu"}),
                  ("vgg_pool", "MaxPool2D", {"pool_size": 2}))
    s.entries, s.exit = [(ids[0], 0)], ids[-1]
    return s


def _channels(shape: Shape, default: int = 16) -> int:
    return shape[0] if shape is not None and len(shape) == 3 else default


def _residual(shape: Shape) -> Spec:
    """Identity shortcut: the block keeps the channel count of what feeds it."""
    c = _channels(shape)
    s = Spec()
    s.chain(("res_conv1", "Conv2D", {"filters": c, "kernel_size": 3, "padding": "same",
                                     "activation": "relu"}),
            ("res_conv2", "Conv2D", {"filters": c, "kernel_size": 3, "padding": "same"}),
            ("res_add", "Add"),
            ("res_relu", "Activation", {"function": "relu"}))
    s.entries, s.exit = [("res_conv1", 0), ("res_add", 1)], "res_relu"
    return s


def _inception(_: Shape) -> Spec:
    s = Spec()

    def conv(i: str, f: int, k: int) -> tuple:
        return (i, "Conv2D", {"filters": f, "kernel_size": k, "padding": "same",
                              "activation": "relu"})

    s.chain(conv("inc_1x1", 16, 1))
    s.chain(conv("inc_3x3_reduce", 16, 1), conv("inc_3x3", 24, 3))
    s.chain(conv("inc_5x5_reduce", 4, 1), conv("inc_5x5", 8, 5))
    s.chain(("inc_pool", "MaxPool2D", {"pool_size": 3, "stride": 1, "padding": 1}),
            conv("inc_pool_proj", 8, 1))
    s.add("inc_concat", "Concat", axis=0)
    for port, last in enumerate(("inc_1x1", "inc_3x3", "inc_5x5", "inc_pool_proj")):
        s.link(last, "inc_concat", port)
    s.entries = [("inc_1x1", 0), ("inc_3x3_reduce", 0), ("inc_5x5_reduce", 0), ("inc_pool", 0)]
    s.exit = "inc_concat"
    return s


def _lstm_head(_: Shape) -> Spec:
    s = Spec()
    s.chain(("lstm_encoder", "LSTM", {"units": 64, "return_sequences": False}),
            ("head_dense", "Dense", {"units": 32, "activation": "relu"}),
            ("head_logits", "Dense", {"units": 2}),
            ("output", "Output", {"loss": "cross_entropy"}))
    s.entries = [("lstm_encoder", 0)]
    return s


def _autoencoder(_: Shape) -> Spec:
    s = Spec()
    s.chain(("input", "Input", {"shape": [64]}),
            ("enc1", "Dense", {"units": 32, "activation": "relu"}),
            ("code", "Dense", {"units": 8, "activation": "relu"}),
            ("dec1", "Dense", {"units": 32, "activation": "relu"}),
            ("reconstruction", "Dense", {"units": 64}),
            ("output", "Output", {"loss": "mse"}))
    return s


def _vae(_: Shape) -> Spec:
    s = Spec()
    s.chain(("input", "Input", {"shape": [64]}),
            ("encoder", "Dense", {"units": 32, "activation": "relu"}),
            ("z_mean", "Dense", {"units": 2}))
    s.add("z_log_var", "Dense", units=2)
    s.link("encoder", "z_log_var")
    s.add("sampling", "Sampling", beta=1.0)
    s.link("z_mean", "sampling", 0)
    s.link("z_log_var", "sampling", 1)
    s.chain(("decoder", "Dense", {"units": 32, "activation": "relu"}),
            ("reconstruction", "Dense", {"units": 64}),
            ("output", "Output", {"loss": "mse"}))
    s.link("sampling", "decoder")
    return s


TEMPLATES: dict[str, Template] = {t.key: t for t in (
    Template("lenet5", "LeNet-5", "LeCun's LeNet-5 for 32x32 grey images: two conv/pool "
             "stages and three dense layers", _lenet5),
    Template("alexnet", "Small AlexNet-style stack", "Five convolutions with max pooling, "
             "two wide dense layers with dropout", _alexnet),
    Template("vgg_block", "VGG block", "Two 3x3 convolutions and a 2x2 max pool",
             _vgg_block, (3, 16, 16)),
    Template("residual", "Residual block", "Two 3x3 convolutions added to the block's input "
             "(an identity shortcut), then ReLU", _residual, (16, 8, 8)),
    Template("inception", "Inception module", "Parallel 1x1, 3x3, 5x5 and pooling branches "
             "concatenated along channels", _inception, (16, 8, 8)),
    Template("lstm_head", "LSTM encoder head", "An LSTM reads the sequence; dense layers "
             "classify its last state", _lstm_head, (20, 8)),
    Template("autoencoder", "Dense autoencoder", "64 → 32 → 8 → 32 → 64, trained to "
             "reproduce its input", _autoencoder),
    Template("vae", "Variational autoencoder", "Encoder to a 2-D latent mean and log-variance, "
             "Sampling with a KL term, decoder", _vae),
)}
