"""MNIST for the digit detector: where digits come from and how they are served.

Sources, all giving ``Digits`` (uint8 pictures (N, 28, 28), uint8 labels (N,)):

- ``load_embedded(split)``: the sample that ships with glassgrad, 6,000 digits of the
  official training set and 2,000 of the official test set; the default, no download.
- ``load_idx(images, labels)``: the official IDX files, gzipped or raw.
- ``load_csv(path)``: one digit per line, label first, then 784 pixels 0..255.
- ``load_dir(folder, split)``: a folder holding either of those.
- ``download(cache_dir)``: the four official files, SHA-256 verified, written atomically.

Serving: ``Digits.features()`` gives x = pixel / 255 in [0, 1]; ``binary_targets`` the
one-vs-rest labels; ``train_val_split`` and ``minibatches`` the index arrays;
``with_shifted_copies`` more training pictures, moved by a pixel.
Every problem with the data raises ``DataError`` with a one-line message.
"""

from .data.batches import binary_targets, minibatches, train_val_split
from .data.csvfile import load_csv
from .data.digits import IMAGE_SHAPE, N_CLASSES, PIXELS, DataError, Digits
from .data.download import DEFAULT_CACHE, DEFAULT_URL, OFFICIAL_FILES, download
from .data.embedded import load_embedded
from .data.folder import SPLITS, has_split, is_test_named, load_dir
from .data.idx import IMAGES_MAGIC, LABELS_MAGIC, load_idx, read_idx
from .data.shifts import shifted, with_shifted_copies

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_URL",
    "IMAGES_MAGIC",
    "IMAGE_SHAPE",
    "LABELS_MAGIC",
    "N_CLASSES",
    "OFFICIAL_FILES",
    "PIXELS",
    "SPLITS",
    "DataError",
    "Digits",
    "binary_targets",
    "download",
    "has_split",
    "is_test_named",
    "load_csv",
    "load_dir",
    "load_embedded",
    "load_idx",
    "minibatches",
    "read_idx",
    "shifted",
    "train_val_split",
    "with_shifted_copies",
]
