"""Export to ONNX: every translated op, run by onnxruntime, gives glassgrad's numbers
to 1e-6, at another batch size than the example's. Runs when the export extra
(onnx, onnxruntime) is installed."""

import subprocess
import sys

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.export import ExportError, to_onnx

ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(0)
W = RNG.normal(size=(4, 3))
B = RNG.normal(size=3)

FUNCTIONS = {
    "affine, relu, tanh, sigmoid": lambda x: gg.sigmoid(gg.tanh(gg.relu(x @ W + B))),
    "arithmetic": lambda x: (x * 2.0 - 1.0) / (x * x + 1.0) + (-x) ** 3.0,
    "exp, log, sqrt, abs": lambda x: gg.exp(x * 0.5) + gg.log(gg.abs(x) + 1.0) + gg.sqrt(gg.abs(x)),
    "softplus, log_sigmoid, clip": lambda x: gg.softplus(x) + gg.log_sigmoid(x) + gg.clip(x, -0.5, None),
    "a transposed stack times a vector": lambda x: gg.transpose(x.reshape(-1, 2, 2), (0, 2, 1)) @ B[:2],
    "a vector times a transposed stack": lambda x: B[:2] @ gg.transpose(x.reshape(-1, 2, 2), (0, 2, 1)),
    "relu then clip": lambda x: gg.clip(gg.relu(x), -0.7, 0.9) + gg.clip(x, None, 0.2),
    "power with a graph exponent": lambda x: gg.power(gg.abs(x) + 0.5, gg.sigmoid(x)),
    "reductions keeping axes": lambda x: x - x.mean(axis=1, keepdims=True) + x.max(axis=1, keepdims=True),
    "reductions": lambda x: gg.concatenate([x.sum(axis=1), x.min(axis=1), x.var(axis=1, ddof=1)]),
    "logsumexp": lambda x: gg.logsumexp(x * 10.0, axis=1),
    "softmax and log_softmax": lambda x: gg.softmax(x, axis=1) + gg.log_softmax(x * 3.0),
    "a total": lambda x: (x * x).sum(),
    "a total times a number, transposed": lambda x: ((x * x).sum() * 2.0 - x.mean()).T,
    "flatten, unsqueeze, transpose": lambda x: gg.flatten(gg.unsqueeze(x, 1) * x.reshape(-1, 4, 1)).T,
    "float32": lambda x: gg.cast(x, np.float32) * 2.0,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_onnxruntime_gives_glassgrads_numbers(name, dtype):
    fn = FUNCTIONS[name]
    model = to_onnx(fn, np.zeros((2, 4), dtype))
    session = ort.InferenceSession(model.SerializeToString())
    X = RNG.normal(size=(5, 4)).astype(dtype)  # another batch size than the example's
    expected = fn(Tensor(X)).data
    (got,) = session.run(None, {"input": X})
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_a_module_exports_and_its_state_dict_loads_into_torch_shapes():
    from glassgrad.nn import Linear, ReLU, Sequential

    net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    session = ort.InferenceSession(to_onnx(net, np.zeros((1, 4))).SerializeToString())
    X = RNG.normal(size=(6, 4))
    np.testing.assert_allclose(session.run(None, {"input": X})[0], net(X).data, rtol=1e-6, atol=1e-6)
    # torch.nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) has exactly these names and shapes
    assert {k: v.shape for k, v in net.state_dict().items()} == {
        "0.weight": (8, 4),
        "0.bias": (8,),
        "2.weight": (3, 8),
        "2.bias": (3,),
    }


def test_an_op_without_a_translation_is_named():
    with pytest.raises(ExportError, match="the op getitem has no ONNX translation"):
        to_onnx(lambda x: x[0], np.zeros((2, 4)))
    with pytest.raises(TypeError, match="floating point"):
        to_onnx(lambda x: x, np.zeros((2, 4), int))


# Functions written for any batch size, exported at N = 2: a translation that bakes in a
# number from the example's shape (a variance's divisor, a reshape's or broadcast's
# target) gives wrong numbers, or none, at another N.
ANY_BATCH = {
    "var over the batch axis": lambda x: x.var(axis=0) * x,
    "var with ddof over both axes, transposed": lambda x: gg.var(x.T, axis=(0, 1), ddof=1) + x,
    "var of float32 in a float64 model": lambda x: gg.var(gg.cast(x, np.float32), axis=0) * x,
    "broadcast_to the input's shape": lambda x: gg.broadcast_to(x.sum(axis=1, keepdims=True), x.shape) * x,
    "reshape merging the batch axis": lambda x: x.reshape(x.shape[0] * 2, 2).sum(axis=1),
    "reshape splitting a transposed batch axis": lambda x: x.T.reshape(2, 2, x.shape[0]).max(axis=1),
}


@pytest.mark.parametrize(
    ("name", "n"), [(name, n) for name in ANY_BATCH for n in (0, 1, 5) if n or not name.startswith("var")]
)
def test_a_model_exported_at_one_batch_size_is_right_at_another(name, n):
    fn = ANY_BATCH[name]
    session = ort.InferenceSession(to_onnx(fn, np.zeros((2, 4))).SerializeToString())
    X = RNG.normal(size=(n, 4))
    expected = fn(Tensor(X)).data
    (got,) = session.run(None, {"input": X})
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


# What ONNX cannot follow: a constant computed from the example's shape keeps it.
BATCH_CONSTANTS = {
    "a constant of the example's length": (lambda x: x * Tensor(np.arange(x.shape[0])[:, None] + 1.0), "constant"),
    "a mask of the example's shape": (lambda x: gg.where(np.ones(x.shape, bool), x, -x), "op where"),
    "a column sum broadcast to the input's shape": (
        lambda x: gg.broadcast_to(x.sum(axis=0), x.shape),
        "broadcast_to",
    ),
}


@pytest.mark.parametrize("name", BATCH_CONSTANTS)
def test_a_constant_that_follows_the_batch_size_is_refused(name):
    fn, what = BATCH_CONSTANTS[name]
    with pytest.raises(ExportError, match=f"{what}.*batch size") as caught:
        to_onnx(fn, np.zeros((1, 4)))
    assert "dynamic_batch=False" in str(caught.value)
    to_onnx(fn, np.zeros((1, 4)), dynamic_batch=False)  # a model of batch size 1 only


def test_a_function_that_fails_at_another_batch_size_is_refused():
    with pytest.raises(ExportError, match=r"batch size 3.*dynamic_batch=False"):
        to_onnx(lambda x: x.reshape(2, 4), np.zeros((2, 4)))


def test_a_transposed_value_cast_for_a_matmul_loads_in_onnxruntime(tmp_path):
    # onnxruntime 1.32 crashes the process (SIGSEGV) building a session for a Transpose
    # of the leading axes, a Cast, then a MatMul: load it in a process of its own.
    W64 = RNG.normal(size=(3, 2))
    fns = (
        lambda x: gg.transpose(x, (1, 0, 2)) @ W64,
        lambda x: gg.cast(gg.transpose(x * 2.0, (1, 0, 2)), np.float64) @ W64,
    )
    for i, fn in enumerate(fns):
        path = tmp_path / f"model{i}.onnx"
        path.write_bytes(to_onnx(fn, np.zeros((2, 4, 3), np.float32)).SerializeToString())
        X = RNG.normal(size=(5, 4, 3)).astype(np.float32)
        np.save(tmp_path / "x.npy", X)
        code = (
            "import numpy as np, onnxruntime as ort, sys; "
            f"s = ort.InferenceSession({str(path)!r}); "
            f"np.save(sys.argv[1], s.run(None, {{'input': np.load({str(tmp_path / 'x.npy')!r})}})[0])"
        )
        out = tmp_path / f"y{i}.npy"
        assert subprocess.run([sys.executable, "-c", code, str(out)], timeout=60).returncode == 0
        np.testing.assert_allclose(np.load(out), fn(Tensor(X)).data, rtol=1e-6, atol=1e-6)
