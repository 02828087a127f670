"""Sequence tasks for recurrent networks: forecasting, long memory, tagging, classification.

Real-valued sequences are ``(N, T, F)`` float32. Token tasks give ``(N, T)`` int64 ids in
``0 .. vocab_size-1`` (feed them to an Embedding) with a vocabulary laid out in blocks:
which block a token falls in is what a network has to learn, and context decides the
harder cases, so a model that ignores order cannot reach full accuracy.
"""
from __future__ import annotations

import numpy as np

from ..params import Param
from .base import SEED, Raw, Source, classification, n_samples, noise, regression, source


def length(default: int, low: int = 2) -> Param:
    return Param("length", "int", default, "time steps per sequence (T)", min=low, max=10_000)


def vocab(default: int) -> Param:
    return Param("vocab_size", "int", default, "number of distinct tokens (ids 0 .. "
                 "vocab_size-1)", min=20, max=100_000)


@source("sine", "Sine forecasting", (n_samples(500), length(20), noise(0.05), SEED,
                                     Param("mode", "choice", "many_to_one",
                                           "many_to_one: predict the next value; "
                                           "many_to_many: the next value at every step",
                                           choices=("many_to_one", "many_to_many"))),
        "regression", "Noisy sine waves of random period (8 to 24 steps), phase and "
        "amplitude; the target is the clean next value.")
def sine(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n, t = cfg["n_samples"], cfg["length"]
    omega = 2 * np.pi / rng.uniform(8.0, 24.0, (n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.0, (n, 1))
    clean = amp * np.sin(omega * np.arange(t + 1) + phase)          # (N, T+1)
    x = clean[:, :t] + cfg["noise"] * rng.standard_normal((n, t))
    y = clean[:, t:] if cfg["mode"] == "many_to_one" else clean[:, 1:, None]
    return regression(x[:, :, None], y, f"Sine forecasting ({cfg['mode']}): {n} "
                                        f"sequences of {t} steps, noise {cfg['noise']:g}")


@source("adding", "Adding problem", (n_samples(1000), length(50, low=4), SEED),
        "regression", "Random values with two marked steps (one in each half); the "
        "target is the sum of the marked values. Needs memory across the whole sequence.")
def adding(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n, t = cfg["n_samples"], cfg["length"]
    values = rng.uniform(0.0, 1.0, (n, t))
    first = rng.integers(0, t // 2, n)
    second = rng.integers(t // 2, t, n)
    rows = np.arange(n)
    marks = np.zeros((n, t))
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    x = np.stack([values, marks], axis=2)
    return regression(x, y, f"Adding problem: {n} sequences of {t} steps "
                            f"(predicting 1.0 always gives MSE 1/6)")


def _tagging_vocab(v: int) -> dict[str, np.ndarray]:
    """Blocks of ids: titles, names, ambiguous words (names only after a title), fillers."""
    titles = np.arange(0, 3)
    names = np.arange(3, 3 + v // 5)
    ambiguous = np.arange(names[-1] + 1, names[-1] + 1 + max(2, v // 8))
    fillers = np.arange(ambiguous[-1] + 1, v)
    return {"titles": titles, "names": names, "ambiguous": ambiguous, "fillers": fillers}


@source("tagging", "Name tagging", (n_samples(1000), length(12, low=3), vocab(40), SEED),
        "classification", "Many-to-many tagging of names in synthetic sentences: a name "
        "word is always a name; an ambiguous word (like 'Will') is a name only right "
        "after a title (like 'Mr'). Tags: 0 other, 1 name.")
def tagging(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n, t = cfg["n_samples"], cfg["length"]
    words = _tagging_vocab(cfg["vocab_size"])
    x = np.zeros((n, t), np.int64)
    y = np.zeros((n, t), np.int64)
    after_title = np.zeros(n, bool)
    for step in range(t):
        u = rng.random(n)
        title = ~after_title & (u < 0.12) & (step < t - 1)
        name = ~after_title & ~title & (u >= 0.12) & (u < 0.22)
        # after a title: a name or an ambiguous word, both tagged as a name
        either = np.where(rng.random(n) < 0.5, rng.choice(words["names"], n),
                          rng.choice(words["ambiguous"], n))
        # elsewhere: a filler, or now and then an ambiguous word used as an ordinary word
        ordinary = np.where(rng.random(n) < 0.2, rng.choice(words["ambiguous"], n),
                            rng.choice(words["fillers"], n))
        x[:, step] = np.select([after_title, title, name], [either,
                               rng.choice(words["titles"], n),
                               rng.choice(words["names"], n)], ordinary)
        y[:, step] = (after_title | name).astype(np.int64)
        after_title = title
    return classification(x, y, ["other", "name"],
                          f"Name tagging: {n} sentences of {t} tokens, vocabulary "
                          f"{cfg['vocab_size']}", input_dtype="int")


NOT = 0


def _sentiment_vocab(v: int) -> dict[str, np.ndarray]:
    """Blocks of ids: 'not' (id 0), positive words, negative words, neutral fillers."""
    k = max(2, v // 8)
    return {"positive": np.arange(1, 1 + k), "negative": np.arange(1 + k, 1 + 2 * k),
            "neutral": np.arange(1 + 2 * k, v)}


@source("sequence_classification", "Sentiment", (n_samples(1000), length(16, low=4),
                                                 vocab(40), SEED),
        "classification", "Many-to-one sentiment of synthetic sentences: one or three "
        "positive/negative words among neutral ones; 'not' (id 0) flips the word right "
        "after it. Classes: 0 negative, 1 positive.")
def sequence_classification(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n, t = cfg["n_samples"], cfg["length"]
    words = _sentiment_vocab(cfg["vocab_size"])
    x = rng.choice(words["neutral"], (n, t))
    x[rng.random((n, t)) < 0.05] = NOT                     # distractors
    slots = np.argsort(rng.random((n, t)), axis=1)[:, :3]  # three distinct positions
    count = np.where(rng.random(n) < 0.5, 1, 3)
    rows = np.arange(n)
    is_slot = np.zeros((n, t), bool)
    for j in range(3):
        is_slot[rows, slots[:, j]] = count > j
    for j in range(3):
        used, pos = count > j, slots[:, j]
        positive = rng.random(n) < 0.5
        word = np.where(positive, rng.choice(words["positive"], n),
                        rng.choice(words["negative"], n))
        x[rows[used], pos[used]] = word[used]
        prev = np.maximum(pos - 1, 0)
        negate = used & (pos > 0) & ~is_slot[rows, prev] & (rng.random(n) < 0.3)
        x[rows[negate], prev[negate]] = NOT
    polarity = np.isin(x, words["positive"]).astype(np.int64) - np.isin(x, words["negative"])
    flipped = np.zeros_like(polarity)
    flipped[:, 1:] = x[:, :-1] == NOT
    score = (polarity * (1 - 2 * flipped)).sum(axis=1)     # odd count: never zero
    y = (score > 0).astype(np.int64)
    return classification(x, y, ["negative", "positive"],
                          f"Sentiment: {n} sentences of {t} tokens, vocabulary "
                          f"{cfg['vocab_size']}", input_dtype="int")
