"""The raw numerics under the ops, for Python floats and for numpy arrays.

Ops call ``ctx.xp.<kernel>(x)``: ``FloatKernels`` serves Scalar (the ``math`` module:
fast on one number), ``ArrayKernels`` serves Tensor (numpy ufuncs). Both compute the
stable forms, so logits of ±1e4 give finite results and no numpy warnings:

    σ(x)        = 1/(1+e^{-x})            for x ≥ 0,   e^{x}/(1+e^{x})  for x < 0
    softplus(x) = log(1+e^{x})            = max(x, 0) + log1p(e^{-|x|})
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The data of a Tensor: a floating-point numpy array.
FloatArray = NDArray[np.floating[Any]]


class FloatKernels:
    """Kernels on Python floats."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sqrt = staticmethod(math.sqrt)
    tanh = staticmethod(math.tanh)

    @staticmethod
    def sigmoid(x: float) -> float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)

    @staticmethod
    def softplus(x: float) -> float:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))

    @staticmethod
    def relu(x: float) -> float:
        # max(x, 0) as a Tensor's numpy.maximum computes it: NaN stays NaN (NaN > 0 is
        # false, so "x if x > 0 else 0.0" swallowed it), −0.0 gives 0.0.
        return 0.0 if x <= 0 else x

    @staticmethod
    def power(x: float, c: float) -> float:
        return float(x**c)

    @staticmethod
    def mean(x: float) -> float:
        return x

    @staticmethod
    def sum(x: float) -> float:
        return x

    @staticmethod
    def count(x: float) -> int:
        return 1


class ArrayKernels:
    """Kernels on numpy arrays (and numpy scalars)."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)

    @staticmethod
    def sigmoid(x: FloatArray) -> FloatArray:
        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        return np.where(x >= 0, 1.0, e) / (1.0 + e)

    @staticmethod
    def softplus(x: FloatArray) -> FloatArray:
        return np.logaddexp(0.0, x)

    @staticmethod
    def relu(x: FloatArray) -> FloatArray:
        return np.maximum(x, 0)

    @staticmethod
    def power(x: FloatArray, c: float) -> FloatArray:
        return np.power(x, c)

    @staticmethod
    def mean(x: FloatArray) -> np.floating[Any]:
        # What ndarray.mean computes (one pairwise sum, one division), without its
        # Python-level wrappers, which dominate on small arrays.
        mean: np.floating[Any] = np.add.reduce(x, axis=None) / x.size
        return mean

    @staticmethod
    def sum(x: FloatArray) -> np.floating[Any]:
        total: np.floating[Any] = np.add.reduce(x, axis=None)
        return total

    @staticmethod
    def count(x: FloatArray) -> int:
        return x.size


def kernels_for(x: object) -> type[FloatKernels] | type[ArrayKernels]:
    """The kernel family for raw data: floats get ``math``, everything else numpy."""
    return FloatKernels if type(x) in (float, int) else ArrayKernels
