"""compute/training/probes.py: what the designer's panels get at each snapshot."""
from __future__ import annotations

import numpy as np

from compute.training.probes import classification_result


def test_a_sequence_tagger_with_every_step_right_has_an_empty_gallery():
    """Per-step labels (a tagger): the gallery captions are each sample's first step, and
    a batch without a single mistake gives empty arrays (it raised a reshape error)."""
    y = np.array([[0, 1, 2], [2, 2, 0]])
    out = np.eye(3, dtype=np.float32)[y]               # (2, 3 steps, 3 classes): all right
    r = classification_result(out, y, "cross_entropy", 3, np.zeros((2, 3, 4), np.float32))
    assert r["accuracy"] == 1.0 and r["confusion"].trace() == 6
    assert r["wrong_index"].shape == (0,) and r["wrong_x"].shape == (0, 3, 4)
    assert r["wrong_true"].shape == r["wrong_pred"].shape == r["wrong_conf"].shape == (0,)


def test_a_sequence_tagger_s_mistakes_are_captioned_by_their_first_step():
    y = np.array([[0, 1, 2], [2, 2, 0]])
    guess = y.copy()
    guess[1, 2] = 1                                    # sample 1 wrong at its last step
    out = np.eye(3, dtype=np.float32)[guess]
    r = classification_result(out, y, "cross_entropy", 3, np.zeros((2, 3, 4), np.float32))
    assert r["wrong_index"].tolist() == [1]
    assert r["wrong_true"].tolist() == [2] and r["wrong_pred"].tolist() == [2]
    assert r["accuracy"] == 5 / 6
