"""glassgrad export MODEL --to onnx [--out FILE]: the trained model as an ONNX file.

The file computes what glassgrad predict prints from the pixels (784 numbers in [0, 1]
per picture, any number of pictures): the probability of the digit for a detector, the
ten probabilities for a classifier. onnxruntime runs it in two lines:

    session = onnxruntime.InferenceSession("model.onnx")
    probabilities = session.run(None, {"input": pixels})[0]

The input's dtype is the model's: float64 unless it was trained with --dtype float32.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import UsageError, output_file

HELP = "write a trained model as an ONNX file (for onnxruntime and other runtimes)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="model.npz written by glassgrad train")
    p.add_argument("--to", choices=("onnx",), required=True, help="the format to write (onnx)")
    p.add_argument("--out", type=output_file, default=None, help="the file to write (default: MODEL with .onnx)")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from glassgrad import sigmoid, softmax
    from glassgrad.export import to_onnx

    from ..atomic import write_atomic
    from ..logistic import Detector
    from ..report import load_model

    model, meta = load_model(args.model)
    out = args.out or args.model.with_suffix(".onnx")
    if out.exists() and out.samefile(args.model):
        raise UsageError(f"--out {out} is the model file itself; give another name for the ONNX file")

    def probabilities(x: Any) -> Any:
        return sigmoid(model(x)) if isinstance(model, Detector) else softmax(model(x), axis=1)

    onnx_model = to_onnx(probabilities, np.zeros((1, model.n_features), model.dtype))
    write_atomic(out, lambda f: f.write(onnx_model.SerializeToString()))
    what = f"p({meta['digit']})" if meta.get("digit") is not None else "the ten probabilities"
    print(f"wrote {out}: input 'input' (N × {model.n_features} pixels in [0, 1], {model.dtype}) → output '{what}'")
    return 0
