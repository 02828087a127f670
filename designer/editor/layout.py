"""Auto-layout: the graph in columns, left to right, by topological generation.

Used for files saved without positions and on demand. Pure Python on networkx (no Qt),
so it is tested on plain graphs. Positions are the top-left corners of the nodes.
"""
from __future__ import annotations

import networkx as nx

from compute import Graph

DEFAULT_SIZE = (170.0, 64.0)
H_GAP = 110.0     # room between columns for the edge and its shape label
V_GAP = 44.0      # room between nodes of a column for the output shape under each node
BAND_GAP = 90.0   # room between bands of a wrapped layout for the wires going back


def columns(graph: Graph) -> list[list[str]]:
    """Nodes grouped into columns: generations of a DAG, sources pulled right next to
    their first consumer, and each column ordered to reduce crossings."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.source, e.target) for e in graph.edges)
    g = _acyclic(g)
    layer: dict[str, int] = {}
    for i, gen in enumerate(nx.topological_generations(g)):
        for n in gen:
            layer[n] = i
    for n in graph.nodes:   # a source used late (a second input) sits beside its consumer
        succ = list(g.successors(n))
        if g.in_degree(n) == 0 and succ:
            layer[n] = max(layer[n], min(layer[s] for s in succ) - 1)
    cols: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in graph.nodes:
        cols[layer[n]].append(n)
    _order(g, cols)
    return [c for c in cols if c]


def _acyclic(g: nx.DiGraph) -> nx.DiGraph:
    """Drop back edges so a (broken) cyclic graph still lays out."""
    if nx.is_directed_acyclic_graph(g):
        return g
    g = g.copy()
    while True:
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return g
        g.remove_edge(*cycle[-1][:2])


def _order(g: nx.DiGraph, cols: list[list[str]]) -> None:
    """Barycentre sweeps: order each column by the mean index of its neighbours."""
    def sweep(indices, forward: bool) -> None:
        rng = range(1, len(cols)) if forward else range(len(cols) - 2, -1, -1)
        for k in rng:
            pos = {n: i for i, n in enumerate(cols[k - 1 if forward else k + 1])}
            def key(n: str) -> tuple[float, int]:
                nbrs = g.predecessors(n) if forward else g.successors(n)
                ps = [pos[m] for m in nbrs if m in pos]
                return (sum(ps) / len(ps) if ps else indices[n], indices[n])
            cols[k].sort(key=key)
            for i, n in enumerate(cols[k]):
                indices[n] = i

    indices = {n: i for col in cols for i, n in enumerate(col)}
    for _ in range(2):
        sweep(indices, True)
        sweep(indices, False)


def auto_layout(graph: Graph, sizes: dict[str, tuple[float, float]] | None = None,
                origin: tuple[float, float] = (0.0, 0.0),
                max_width: float | None = None) -> dict[str, tuple[float, float]]:
    """Top-left position of every node: columns left to right, each centred on its band's
    middle line so that a chain of single nodes is a straight line.

    With `max_width`, a long network wraps into bands stacked top to bottom (read like
    lines of text) so that it stays legible on a screen. Bands break only after a column
    that every path goes through (one node, no edge passing it), so branches and skip
    connections are never cut apart.
    """
    sizes = sizes or {}
    cols = columns(graph)
    dims = [[sizes.get(n, DEFAULT_SIZE) for n in col] for col in cols]
    widths = [max(w for w, _ in d) for d in dims]
    heights = [sum(h for _, h in d) + V_GAP * (len(d) - 1) for d in dims]
    out: dict[str, tuple[float, float]] = {}
    top = origin[1]
    for band in _bands(widths, _cuts(graph, cols), max_width):
        band_h = max(heights[k] for k in band)
        middle = top + band_h / 2 if out else origin[1]
        x = origin[0]
        for k in band:
            y = middle - heights[k] / 2
            for n, (w, h) in zip(cols[k], dims[k]):
                out[n] = (round(x), round(y))
                y += h + V_GAP
            x += widths[k] + H_GAP
        top = middle + band_h / 2 + BAND_GAP
    return out


def _cuts(graph: Graph, cols: list[list[str]]) -> list[bool]:
    """For each column: does every path go through it (one node, no edge jumping over)?"""
    where = {n: k for k, col in enumerate(cols) for n in col}
    jumped = [False] * len(cols)
    for e in graph.edges:
        a, b = sorted((where[e.source], where[e.target]))
        for k in range(a + 1, b):
            jumped[k] = True
    return [len(col) == 1 and not jumped[k] for k, col in enumerate(cols)]


def _bands(widths: list[float], cuts: list[bool], max_width: float | None) -> list[list[int]]:
    """Consecutive columns grouped into about total/max_width bands of even width, broken
    only after cut columns (a linear partition that minimises the widest band)."""
    if not widths:
        return []
    total = sum(widths) + H_GAP * (len(widths) - 1)
    if max_width is None or total <= max_width * 1.1:
        return [list(range(len(widths)))]
    segments, current = [], []
    for k, cut in enumerate(cuts):
        current.append(k)
        if cut or k == len(cuts) - 1:
            segments.append(current)
            current = []
    sizes = [sum(widths[k] + H_GAP for k in seg) for seg in segments]
    count = min(len(segments), max(1, round(total / max_width)))
    limit = max(sum(sizes[i] for i in g) for g in _partition(sizes, count))
    groups: list[list[int]] = [[]]     # then fill greedily up to that width: no lone stragglers
    width = 0.0
    for i, size in enumerate(sizes):
        if groups[-1] and width + size > limit + 1e-6:
            groups.append([])
            width = 0.0
        groups[-1].append(i)
        width += size
    return [[k for seg in group for k in segments[seg]] for group in groups]


def _partition(sizes: list[float], count: int) -> list[list[int]]:
    """Split indices 0..n-1 into `count` contiguous groups minimising the largest sum."""
    n = len(sizes)
    prefix = [0.0]
    for v in sizes:
        prefix.append(prefix[-1] + v)
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    cut_at = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for g in range(1, count + 1):
        for i in range(1, n + 1):
            for j in range(g - 1, i):
                cost = max(best[g - 1][j], prefix[i] - prefix[j])
                if cost < best[g][i]:
                    best[g][i], cut_at[g][i] = cost, j
    groups, i = [], n
    for g in range(count, 0, -1):
        j = cut_at[g][i]
        groups.append(list(range(j, i)))
        i = j
    return [grp for grp in reversed(groups) if grp]
