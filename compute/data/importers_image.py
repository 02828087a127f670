"""Importers for images: IDX files (the MNIST format) and a folder of class subfolders.

Both yield ``(N, C, H, W)`` float32 in [0, 1] with integer class labels. Gzip is detected
from the file's first bytes, not its name. Image folders are read in sorted order (class
folders and files alike) so the same folder always gives the same dataset.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import ProjectError
from ..params import Param
from .base import DataParam, Raw, Source, classification, source
from .importers import MAX_CLASSES, existing_file

# IDX type codes -> big-endian dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".ppm", ".pgm", ".pbm"}


# -- IDX ---------------------------------------------------------------------------------
@source("idx", "IDX (MNIST format)", (
    DataParam("images", "path", "", "IDX image file (N, H, W), gzipped or not, e.g. "
              "train-images-idx3-ubyte.gz"),
    DataParam("labels", "path", "", "IDX label file (N,), e.g. train-labels-idx1-ubyte.gz"),
    Param("max_samples", "int", 0, "keep only the first this many samples (0 = all)", min=0),
), "classification", "Images and labels in the IDX format of MNIST and Fashion-MNIST; "
   "bytes are scaled to [0, 1].")
def import_idx(cfg: dict, src: Source) -> Raw:
    images = read_idx(src, cfg["images"])
    labels = read_idx(src, cfg["labels"])
    where = f"{src.where}: IDX file"
    if images.ndim != 3:
        raise ProjectError(f"{where} {cfg['images']}: expected images of shape (N, H, W), "
                           f"got {images.shape}")
    if labels.ndim != 1:
        raise ProjectError(f"{where} {cfg['labels']}: expected labels of shape (N,), "
                           f"got {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ProjectError(f"{src.where}: IDX files {cfg['images']} and {cfg['labels']} hold "
                           f"{images.shape[0]} images but {labels.shape[0]} labels")
    if images.shape[0] == 0:
        raise ProjectError(f"{where} {cfg['images']}: no images")
    if labels.dtype.kind == "f" or labels.min() < 0 or labels.max() >= MAX_CLASSES:
        raise ProjectError(f"{where} {cfg['labels']}: labels must be integers in "
                           f"0..{MAX_CLASSES - 1}")
    if cfg["max_samples"]:
        images, labels = images[:cfg["max_samples"]], labels[:cfg["max_samples"]]
    x = _unit_scale(images, f"{where} {cfg['images']}")[:, None, :, :]
    k = int(labels.max()) + 1
    return classification(x, labels, [str(i) for i in range(k)],
                          f"IDX {Path(cfg['images']).name}: {x.shape[0]} images "
                          f"1x{x.shape[2]}x{x.shape[3]}, {k} classes")


def read_idx(src: Source, path: str) -> np.ndarray:
    """An IDX file as an array with its declared shape; ProjectError naming the file."""
    place = f"{src.where}: IDX file {path}"
    full = existing_file(src, path, "IDX file")
    try:
        data = full.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ProjectError(f"{place}: cannot read ({exc})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES or data[3] == 0:
        raise ProjectError(f"{place}: not an IDX file (bad magic number)")
    ndim, dtype = data[3], np.dtype(IDX_TYPES[data[2]])
    head = 4 + 4 * ndim
    if len(data) < head:
        raise ProjectError(f"{place}: file ended inside the header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    want = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - head != want:
        got = len(data) - head
        what = "ended early" if got < want else "is longer than its header says"
        raise ProjectError(f"{place}: file {what} (header {shape} needs {want} bytes of "
                           f"data, found {got})")
    return np.frombuffer(data, dtype, offset=head).reshape(shape)


def _unit_scale(a: np.ndarray, place: str) -> np.ndarray:
    """Bytes divide by 255; other types are min-max scaled into [0, 1]."""
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ProjectError(f"{place}: images hold NaN or infinite values")
    low, span = a.min(), a.max() - a.min()
    return ((a - low) / (span if span > 0 else 1.0)).astype(np.float32)


# -- image folder ------------------------------------------------------------------------
@source("image_folder", "Image folder", (
    DataParam("path", "path", "", "folder with one subfolder of images per class"),
    Param("mode", "choice", "grayscale", "colour mode: 1 channel or 3",
          choices=("grayscale", "rgb")),
    Param("size", "size", (28, 28), "height and width every image is resized to",
          min=1, max=1024),
), "classification", "Images in one subfolder per class (folder name = class name), "
   "resized with Pillow and scaled to [0, 1]; classes in sorted order.")
def import_image_folder(cfg: dict, src: Source) -> Raw:
    root = cfg["path"]
    place = f"{src.where}: image folder {root}"
    full = src.resolve(root)
    if not full.is_dir():
        raise ProjectError(f"{place}: no such folder (looked in {full})")
    classes = sorted(p.name for p in full.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ProjectError(f"{place}: no class subfolders (put each class's images in a "
                           f"subfolder named after the class)")
    h, w = cfg["size"]
    images, labels = [], []
    for k, name in enumerate(classes):
        files = sorted(p for p in (full / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.name.startswith("."))
        if not files:
            raise ProjectError(f"{place}/{name}: no images (.png, .jpg, ...)")
        for f in files:
            images.append(_load_image(f, cfg["mode"], (h, w), f"{place}/{name}/{f.name}"))
            labels.append(k)
    x = np.stack(images)
    if x.ndim == 3:
        x = x[:, None]
    else:
        x = x.transpose(0, 3, 1, 2)
    return classification(x, np.array(labels), classes,
                          f"Image folder {Path(root).name}: {x.shape[0]} images "
                          f"{x.shape[1]}x{h}x{w}, {len(classes)} classes")


def _load_image(path: Path, mode: str, size: tuple[int, int], place: str) -> np.ndarray:
    """One image resized to size (H, W), as float32 in [0, 1]: (H, W) or (H, W, 3)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if mode == "grayscale" else "RGB")
            if img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32)
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        raise ProjectError(f"{place}: cannot read image") from None
    return arr / np.float32(255)
