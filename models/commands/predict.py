"""glassgrad predict MODEL IMAGE... [--index N --data DIR]: p(digit) per picture, or a
classifier's digit and the probability of each of the ten."""

from __future__ import annotations

import argparse
from pathlib import Path

from .blas import add_threads_argument
from .options import UsageError, existing_dir, number

HELP = "probability that pictures (or dataset samples) are the digit, or which digit they are"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="model.npz written by glassgrad train")
    p.add_argument("images", nargs="*", type=Path, help="PNG or JPEG pictures of one digit each, any size")
    p.add_argument(
        "--index", type=number(int, 0), action="append", default=[], help="a sample of the dataset (repeatable)"
    )
    p.add_argument(
        "--data", type=existing_dir, help="folder with IDX or CSV files for --index (default: the embedded sample)"
    )
    p.add_argument(
        "--split", choices=("train", "test"), default="train", help="which split for --index (default train)"
    )
    add_threads_argument(p)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import mnist
    from ..formatting import probability
    from ..images import load_digit_image
    from ..report import ModelFileError, load_model

    if not args.images and not args.index:
        raise UsageError("give at least one IMAGE or --index N")
    if args.data is not None and not args.index:
        raise UsageError("--data only applies with --index")
    model, meta = load_model(args.model)
    digit, threshold = meta["digit"], meta["threshold"]
    if model.n_features != 28 * 28:
        raise UsageError(f"model {args.model} takes {model.n_features} features, but a 28×28 picture has 784")
    named: list[tuple[str, np.ndarray]] = [(str(p), load_digit_image(p)) for p in args.images]
    if args.index:
        data = mnist.load_embedded(args.split) if args.data is None else mnist.load_dir(args.data, args.split)
        for i in args.index:
            if i >= len(data):
                raise UsageError(
                    f"--index {i} is out of range: {data.source} has {len(data)} samples (0..{len(data) - 1})"
                )
            named.append((f"{data.source}[{i}] (label {data.labels[i]})", data.images[i]))
    images = np.stack([img for _, img in named])
    with np.errstate(over="ignore", invalid="ignore"):  # a probability that is not a number is refused below
        proba = model.predict_proba(images.reshape(len(images), -1).astype(model.dtype) / 255.0)
    unanswered = [name for (name, _), p in zip(named, proba) if not np.isfinite(p).all()]
    if unanswered:
        raise ModelFileError(
            f"model file {args.model} gives a probability that is not a number for {unanswered[0]}"
            f"{f' and {len(unanswered) - 1} more' if len(unanswered) > 1 else ''}: its weights overflow; train again"
        )
    width = max(len(name) for name, _ in named)
    for (name, _), p in zip(named, proba):
        if digit is None:  # a classifier: the most probable digit, then every probability
            shares = "  ".join(f"{k}:{probability(q, decimals=3)}" for k, q in enumerate(p))
            print(f"{name:<{width}}  → {int(p.argmax())} (p = {probability(p.max())})  [{shares}]")
        else:
            verdict = f"a {digit}" if p >= threshold else f"not a {digit}"
            print(f"{name:<{width}}  p({digit}) = {probability(p, threshold)}  → {verdict}")
    return 0
