"""Training: the loop, its metrics, the run folder (see `trainer` for the details)."""
from .trainer import History, Trainer, train

__all__ = ["History", "Trainer", "train"]
