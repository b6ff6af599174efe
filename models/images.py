"""Turning a picture (PNG, JPEG, any size) into an MNIST-like 28×28 digit.

MNIST digits are white ink on black, scaled so the digit fits a 20×20 box and centred
by its centre of mass in a 28×28 frame. A photo or drawing is converted the same way:
grey levels, inverted when the background (the border) is light, cropped to the ink,
scaled into 20×20 and centred.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from glassgrad.optional import require

from .data.files import irregular
from .mnist import DataError

MAX_PIXELS = 4096 * 4096  # larger pictures are refused before they are decoded: bounded memory
TOO_LARGE = "too large for a digit picture (at most 4096×4096 pixels)"
MIN_CONTRAST = 16  # grey levels between the lightest and darkest pixel; less is a blank picture
# Pillow's ways of saying a file is damaged: open() turns SyntaxError, IndexError, TypeError and
# struct.error into UnidentifiedImageError (an OSError), but decoding lets every one of them through.
CORRUPT = (OSError, ValueError, EOFError, SyntaxError, IndexError, TypeError, struct.error)


def load_digit_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A uint8 (28, 28) image, white ink on black, from the picture at ``path``.

    Transparent pixels count as white paper (a dark digit drawn on a transparent
    background is common); a missing or damaged file, a picture with no visible ink, or
    one larger than 4096×4096 pixels raises DataError, which says what the decoder logged
    or printed of the damage. Damage Pillow decodes around (it warns, or libtiff prints)
    is not reported: the picture it gives is used.
    """
    Image = require("PIL.Image", "train", "reading a picture")
    logged: list[str] = []
    try:
        kind = irregular(path)
        if kind:
            raise DataError(f"image {path} is not a regular file ({kind}); give a PNG or JPEG file")
        with warnings.catch_warnings(), _pillow_log(logged):
            # Pillow says with a UserWarning that it works around damage (an icon's picture of
            # another size than its directory claims, an animated PNG's bad frame count): the
            # picture it decodes is whole, and damage it cannot work around raises below.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise DataError(f"image {path} is {width}×{height} pixels, {TOO_LARGE}; scale it down")
                with _native_stderr(logged):
                    im.load()
                grey = _grey_levels(_on_white(im), path)
    except FileNotFoundError:
        raise DataError(f"image {path} does not exist") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's limits, met in open()
        raise DataError(f"image {path} is {TOO_LARGE} ({' '.join(str(exc).split())})") from None
    except MemoryError:  # a size in a damaged header Pillow reads at once; pictures too large are refused above
        raise DataError(f"image {path} cannot be read as a picture (decoding it ran out of memory)") from None
    except CORRUPT as exc:
        detail = "; ".join([*logged, " ".join(str(exc).split()) or type(exc).__name__])[:200]
        raise DataError(f"image {path} cannot be read as a picture ({detail})") from None
    if grey.max() - grey.min() < MIN_CONTRAST:
        raise DataError(f"image {path} has no ink: every pixel has about the same grey level {grey.mean():.0f}")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 127:  # dark ink on light paper: make it MNIST's light ink on black
        grey = 255.0 - grey
    return _center(grey)


class _Collected(logging.Handler):
    """Keeps the messages of the records it is handed."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__()
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


@contextmanager
def _pillow_log(messages: list[str]) -> Iterator[None]:
    """Keep in ``messages`` what Pillow logs while a picture is read. Pillow logs some damage
    (``logging.error``) before it raises: the DataError says it, where logging's last
    resort would print it as a second line on stderr (a program's own handlers still
    get the records)."""
    handler = _Collected(messages)
    logger = logging.getLogger("PIL")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


# A process has one descriptor 2: two threads decoding at once would each put back the other's file.
_NATIVE_STDERR = threading.Lock()


@contextmanager
def _native_stderr(messages: list[str]) -> Iterator[None]:
    """Keep in ``messages`` what a decoder's C library writes on the process's stderr
    while a picture decodes. libtiff (Pillow's decoder of compressed TIFFs) prints each
    damage it meets (``ZIPDecode: Decoding error at scanline 0, incorrect header check``)
    on file descriptor 2, past Python: the DataError says it, where it would be a second
    line beside the command's, or a line of its own when Pillow decodes around the damage.

    Descriptor 2 points at a temporary file for the decode only and is put back in
    ``finally``; whatever another thread writes on stderr meanwhile lands there too. A
    process without a descriptor 2 (a windowed program) decodes as it is."""
    with _NATIVE_STDERR, tempfile.TemporaryFile() as sink:
        try:
            saved = os.dup(2)
        except OSError:
            saved = -1
        try:
            if saved >= 0:
                os.dup2(sink.fileno(), 2)
            yield
        finally:
            if saved >= 0:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                # Pillow hands libtiff the file under the name tempfile.tif, which would only confuse.
                lines = sink.read().decode(errors="replace").splitlines()
                messages.extend(
                    " ".join(line.removeprefix("tempfile.tif: ").split()).rstrip(".") for line in lines if line.strip()
                )


def _grey_levels(im: Any, path: str | os.PathLike[str]) -> np.ndarray:
    """The picture's grey levels, 0 to 255. Floating-point pixels (mode F: TIFFs from
    scientific tools) hold levels either in [0, 1] or in [0, 255]; the first are scaled
    up, where Pillow's conversion to 8 bits would round each to 0 or 1."""
    if im.mode != "F":
        return np.asarray(im.convert("L"), dtype=np.float64)
    grey = np.asarray(im, dtype=np.float64)
    if not np.isfinite(grey).all():
        raise DataError(f"image {path} has pixels that are not a number (NaN or infinite)")
    return np.clip(grey * 255.0 if grey.max() <= 1.0 else grey, 0.0, 255.0)


def _on_white(im: Any) -> Any:
    """``im`` composited over white paper when it has transparency, else ``im`` itself."""
    from PIL import Image

    if im.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in im.info:
        return im
    rgba = im.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)


def _center(grey: np.ndarray) -> np.ndarray:
    from PIL import Image

    ink = grey > 0.25 * grey.max()  # not empty: load_digit_image refuses pictures without contrast
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = 20.0 / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(
        Image.fromarray(crop.astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS), dtype=np.float64
    )
    frame = np.zeros((28, 28))
    mass = small.sum()
    cy, cx = ((np.indices(small.shape) * small).sum(axis=(1, 2)) / mass) if mass > 0 else (h / 2, w / 2)
    top = int(np.clip(round(14 - cy), 0, 28 - h))
    left = int(np.clip(round(14 - cx), 0, 28 - w))
    frame[top : top + h, left : left + w] = small
    return np.clip(frame, 0, 255).astype(np.uint8)
