"""designer/training/preview.py: the training dock's preview of the chosen dataset,
loaded off the GUI thread and drawn from the dataset's own samples."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from compute.data import load_dataset
from designer.panels import style
from designer.training.preview import GRID_IMAGES, MAX_POINTS, SEQUENCES, DatasetPreview


def shown(qtbot, preview: DatasetPreview, data: dict):
    """Load `data` as the dock does and wait until the preview has drawn it."""
    with qtbot.waitSignal(preview.shown, timeout=30_000) as got:
        preview.load(data, None, 0)
    return got.args[0]


@pytest.fixture
def preview(qtbot):
    p = DatasetPreview()
    qtbot.addWidget(p)
    return p


def items(preview: DatasetPreview, kind) -> list:
    return [i for i in preview.view.scene().items() if isinstance(i, kind)]


def test_two_dimensional_data_is_a_scatter_of_its_first_samples(qtbot, preview):
    data = {"dataset": "spirals", "params": {"n_samples": 900, "noise": 0.03}}
    ds = shown(qtbot, preview, data)
    assert ds is preview.dataset and ds.input_shape == (2,)
    scatter, = items(preview, pg.ScatterPlotItem)
    n = min(MAX_POINTS, len(ds.x_train))
    np.testing.assert_array_equal(scatter.data["x"], ds.x_train[:n, 0])
    np.testing.assert_array_equal(scatter.data["y"], ds.x_train[:n, 1])
    assert f"{len(ds.x_train)} training" in preview.caption.text()


def test_images_are_one_grey_mosaic_of_the_first_samples_with_their_labels(qtbot, preview):
    ds = shown(qtbot, preview, {"dataset": "digits"})
    image, = items(preview, pg.ImageItem)
    expected = style.mosaic(ds.x_train[:GRID_IMAGES, 0], cols=12, normalize="each")
    np.testing.assert_array_equal(image.image, expected)
    assert image.lut is None                        # grey: no colour table to build
    labels = " ".join(str(ds.class_names[int(k)]) for k in ds.y_train[:GRID_IMAGES])
    assert "labels: " + labels in preview.caption.text()


def test_sequences_are_a_few_curves_of_their_first_feature(qtbot, preview):
    ds = shown(qtbot, preview, {"dataset": "sine", "params": {"n_samples": 50, "length": 12}})
    curves = [c for c in items(preview, pg.PlotDataItem)]
    assert len(curves) == SEQUENCES
    drawn = sorted(tuple(c.yData) for c in curves)
    assert drawn == sorted(tuple(s[:, 0]) for s in ds.x_train[:SEQUENCES])


def test_a_dataset_that_cannot_load_says_why_and_shows_nothing(qtbot, preview):
    ds = shown(qtbot, preview, {"dataset": "csv", "params": {"path": "missing.csv"}})
    assert ds is None and preview.dataset is None
    assert preview.caption.text().startswith("Cannot load:")
    assert "missing.csv" in preview.caption.text()
    assert items(preview, pg.ImageItem) == [] and items(preview, pg.PlotDataItem) == []


def test_the_preview_shows_what_load_dataset_gives(qtbot, preview):
    """The same split the trainer sees (same seed): the preview invents nothing."""
    data = {"dataset": "digits", "validation_split": 0.25}
    ds = shown(qtbot, preview, data)
    again = load_dataset(data, None, 0)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    assert f"{len(again.x_val)} validation" in preview.caption.text()
