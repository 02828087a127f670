"""The data side of a run: shuffled, augmented, noised training batches and fixed
validation arrays.

Every random stream comes from the run's seed through its own child of one
`SeedSequence` (shuffling, augmentation, input noise, validation noise), so a run is
reproducible bit for bit and turning augmentation on does not change the shuffling.
Per step the work is proportional to the batch, never to the dataset.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ..errors import ProjectError

Augmenter = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class Feed:
    """Batches for training and arrays for validation, from a loaded dataset.

    `target` "labels" trains on y; "input" trains an autoencoder to reproduce x. With
    `input_noise` σ, Gaussian noise is added to the network's input only (the target
    stays clean). Validation inputs of a denoising autoencoder get noise once, from a
    fixed stream, so that the validation loss measures denoising and stays comparable
    between epochs; a classifier's validation inputs stay clean (noise regularises).
    """

    def __init__(self, dataset, target: str, input_noise: float, batch_size: int,
                 seed: int, augment: Augmenter | None = None, shuffle: bool = True) -> None:
        self.autoencoder = target == "input"
        self.noise = float(input_noise)
        if (self.autoencoder or self.noise) and dataset.input_dtype == "int":
            what = 'target "input"' if self.autoencoder else "input_noise"
            raise ProjectError(f"data: {what} needs float inputs, but dataset "
                               f'"{dataset.name}" gives integer token ids')
        self.x, self.y = dataset.x_train, dataset.y_train
        self.n = len(self.x)
        if self.n == 0:
            raise ProjectError(f'data: dataset "{dataset.name}" has no training samples')
        self.batch_size = max(1, min(int(batch_size), self.n))
        self.steps_per_epoch = -(-self.n // self.batch_size)
        self.augment = augment
        self.shuffle = shuffle
        order_seed, aug_seed, noise_seed, val_seed = np.random.SeedSequence(seed).spawn(4)
        self._shuffle = np.random.default_rng(order_seed)
        self._aug = np.random.default_rng(aug_seed)
        self._noise = np.random.default_rng(noise_seed)
        self.x_val, self.t_val = self._validation(dataset, np.random.default_rng(val_seed))

    def _validation(self, dataset, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = dataset.x_val
        if not self.autoencoder:
            return x, dataset.y_val
        if self.noise and len(x):
            return self._noisy(x, rng), x
        return x, x

    def _noisy(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x + (self.noise * rng.standard_normal(x.shape, dtype=np.float32)).astype(
            x.dtype, copy=False)

    @property
    def has_validation(self) -> bool:
        return len(self.x_val) > 0

    def epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(network input, target) for each step of one epoch, in a fresh random order.

        Without shuffling (or with a full batch) batches are views of the training set in
        its own order; with shuffling they are gathered by index.
        """
        order = self._shuffle.permutation(self.n) if (
            self.shuffle and self.batch_size < self.n) else None
        for start in range(0, self.n, self.batch_size):
            stop = start + self.batch_size
            pick = slice(start, stop) if order is None else order[start:stop]
            xb = self.x[pick]
            yb = None if self.autoencoder else self.y[pick]
            if self.augment is not None:        # it returns a new array (never in place)
                xb = self.augment(xb, self._aug)
            target = xb if self.autoencoder else yb
            yield (self._noisy(xb, self._noise) if self.noise else xb), target

    def samples(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """A fixed small batch (copies) for snapshots: validation samples, else training."""
        if self.has_validation:
            return self.x_val[:k].copy(), self.t_val[:k].copy()
        x = self.x[:k].copy()
        return x, (x if self.autoencoder else self.y[:k].copy())
