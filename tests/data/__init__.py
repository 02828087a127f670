"""Tests of compute.data: datasets, importers, augmentation."""
