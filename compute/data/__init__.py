"""Data for training: built-in datasets, importers for a person's own files, augmentation.

`load_dataset` turns a project's ``data`` section into a split `Dataset`; `DATASETS`
describes every source (id, title, param schema, task, doc) for the editor and the loader;
`make_augmenter` builds the on-the-fly augmentation of training batches.
"""
from .augmentation import AUGMENTATIONS, input_kind, make_augmenter
from .base import DATASETS, DataParam, Dataset, DatasetInfo
from .datasets import load_dataset

__all__ = ["AUGMENTATIONS", "DATASETS", "DataParam", "Dataset", "DatasetInfo", "input_kind",
           "load_dataset", "make_augmenter"]
