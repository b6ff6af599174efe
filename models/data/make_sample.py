"""Make the embedded MNIST sample from the four official IDX files.

    python -m glassgrad.models.data.make_sample --from DIR [--out DIR]

DIR holds ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz`` and the ``SHA256SUMS``
published beside them. Each file's SHA-256 must match both that list and the hash
published with the data (``OFFICIAL_FILES``), so the sample is made from the official
digits and nothing else.

The sample is stratified: each split keeps its digits in the proportions of the
official split (the largest-remainder rounding of n·count(c)/N per class c), the
digits of a class drawn without replacement by a seeded generator and kept in their
official order. It is written as an ``.npz`` file (uint8 arrays, deflate-compressed,
fixed timestamps: the same input gives the same bytes), with ``SHA256SUMS`` and a
``README.md`` (attribution, licence, how it was made) beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic import write_atomic, write_text_atomic
from .digits import N_CLASSES, DataError, Digits
from .download import OFFICIAL_FILES
from .embedded import FILE_NAME, SAMPLE_DIR
from .folder import SPLITS
from .idx import load_idx

OUT = Path(__file__).with_name(SAMPLE_DIR)  # the package's own copy
SIZES = {"train": 6_000, "test": 2_000}  # a tenth of the training set, a fifth of the test set
SEED = 20260


def verify(folder: Path, published: Mapping[str, str] = OFFICIAL_FILES) -> dict[str, str]:
    """The SHA-256 of each official file in ``folder``, checked against the folder's
    ``SHA256SUMS`` and against ``published``; ``DataError`` on any mismatch."""
    sums_path = folder / "SHA256SUMS"
    try:
        pairs = [line.split(maxsplit=1) for line in sums_path.read_text().splitlines() if line.strip()]
        listed = {name.strip().lstrip("*"): digest for digest, name in pairs}
    except (OSError, ValueError) as exc:
        raise DataError(f"{sums_path}: cannot read a 'hash  name' list ({exc})") from None
    hashes = {}
    for name, expected in published.items():
        path = folder / name
        try:
            got = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if listed.get(name) != got:
            raise DataError(f"{path}: SHA-256 {got} does not match {sums_path} ({listed.get(name, 'not listed')})")
        if got != expected:
            raise DataError(f"{path}: SHA-256 {got} is not the published {expected}")
        hashes[name] = got
    return hashes


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` digits whose class counts are the largest-remainder
    rounding of n·count(c)/N, each class drawn without replacement."""
    counts = np.bincount(labels, minlength=N_CLASSES)
    quota = n * counts / counts.sum()
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(-(quota - take), kind="stable")[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), take[c], replace=False) for c in range(N_CLASSES)]
    return np.sort(np.concatenate(chosen))


def make_sample(folder: Path) -> dict[str, tuple[Digits, np.ndarray]]:
    """Each split's sample and the official indices of its digits."""
    rng = np.random.default_rng(SEED)
    sample = {}
    for split, n in SIZES.items():
        p = SPLITS[split]  # the official files' prefix
        digits = load_idx(folder / f"{p}-images-idx3-ubyte.gz", folder / f"{p}-labels-idx1-ubyte.gz")
        idx = stratified_indices(digits.labels, n, rng)
        sample[split] = (digits.subset(idx), idx)
    return sample


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive (readable by ``np.load``) whose bytes depend only on the arrays:
    fixed member timestamps, deflate at level 9."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buf.getvalue()


def readme(sources: Mapping[str, str], sample: Mapping[str, tuple[Digits, np.ndarray]], digest: str) -> str:
    counts = {
        split: " ".join(f"{c}:{k}" for c, k in enumerate(np.bincount(d.labels, minlength=N_CLASSES)))
        for split, (d, _) in sample.items()
    }
    return f"""# The embedded MNIST sample

`{FILE_NAME}` holds {SIZES["train"]:,} digits of the official MNIST training set and
{SIZES["test"]:,} digits of the official MNIST test set, as uint8 arrays:
`train_images` ({SIZES["train"]}, 28, 28), `train_labels`, `train_index` (each digit's
position in the official training files) and `test_images`, `test_labels`, `test_index`.
glassgrad trains and validates on the training digits only; the test digits are kept
for the final report.

## Attribution and licence

The MNIST database of handwritten digits is by Yann LeCun, Corinna Cortes and
Christopher J. C. Burges, and is available under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). This sample is a subset of it,
shared under the same licence. (glassgrad's code is under the MIT licence; this
licence covers the data files in this folder.)

## How it was made

    python -m glassgrad.models.data.make_sample --from DIR

with DIR holding the four official gzipped IDX files, whose SHA-256 were checked
against the `SHA256SUMS` beside them and against the published hashes:

{chr(10).join(f"    {h}  {name}" for name, h in sources.items())}

Each split is a stratified sample: the digits of each class in the proportions of
the official split (largest-remainder rounding), drawn without replacement by
`numpy.random.default_rng({SEED})` (numpy {np.__version__}), kept in their official
order. Digits per class (class:count):

- train: {counts["train"]}
- test: {counts["test"]}

SHA-256 of the result (also in `SHA256SUMS`):

    {digest}  {FILE_NAME}
"""


def write_sample(folder: Path, out: Path = OUT, published: Mapping[str, str] = OFFICIAL_FILES) -> Path:
    """Verify the official files in ``folder``, make the sample and write it, its
    ``SHA256SUMS`` and its ``README.md`` into ``out``. Returns the sample's path."""
    sources = verify(folder, published)
    sample = make_sample(folder)
    arrays = {}
    for split, (digits, idx) in sample.items():
        arrays.update({f"{split}_images": digits.images, f"{split}_labels": digits.labels})
        arrays[f"{split}_index"] = idx.astype(np.uint16)
    data = npz_bytes(arrays)
    digest = hashlib.sha256(data).hexdigest()
    out.mkdir(parents=True, exist_ok=True)
    path = write_atomic(out / FILE_NAME, lambda f: f.write(data))
    write_text_atomic(out / "SHA256SUMS", f"{digest}  {FILE_NAME}\n")
    write_text_atomic(out / "README.md", readme(sources, sample, digest))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m glassgrad.models.data.make_sample",
        description="Make the embedded MNIST sample from the official IDX files.",
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder with the official files")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the sample (default: the package)")
    args = parser.parse_args(argv)
    try:
        path = write_sample(args.source, args.out)
    except DataError as exc:
        print(f"make_sample: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
