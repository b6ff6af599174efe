"""save/load of any Module: the round trip, the header, atomic writes, and one-line
errors for every file that cannot be used."""

import json
import sys

import glassgrad
import numpy as np
import pytest
from glassgrad.models import serialize
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.serialize import ModuleFileError, load, save
from glassgrad.nn import Linear, Module, Parameter, ParameterSpec, ReLU, Sequential, Tanh, architecture


def mlp(seed=0):
    return Sequential(Linear(4, 3, rng=seed), ReLU(), Linear(3, 2, rng=seed + 1), Tanh())


def test_a_sequential_round_trips_with_its_architecture_and_metadata(tmp_path):
    net = mlp()
    path = save(net, tmp_path / "net.npz", metadata={"classes": 10, "note": "test"})
    back = load(path)
    assert repr(back) == repr(net)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(back(x).data, net(x).data)
    header, arrays = serialize.read(path)
    assert header["glassgrad"] == glassgrad.__version__ and header["format_version"] == 1
    assert header["dtype"] == "float64" and header["metadata"] == {"classes": 10, "note": "test"}
    assert header["parameters"]["0.weight"] == {"shape": [3, 4], "dtype": "float64"}
    assert header["architecture"]["config"]["layers"][1] == {"class": "glassgrad.nn.ReLU", "config": {}}
    assert sorted(arrays) == ["0.bias", "0.weight", "2.bias", "2.weight"]


def test_the_logistic_model_keeps_its_dtype(tmp_path):
    model = LogisticModel(5, dtype=np.float32)
    with glassgrad.no_grad():
        model.w[:] = np.arange(5)
    back = load(save(model, tmp_path / "m.npz"))
    assert isinstance(back, LogisticModel) and back.dtype == np.float32
    np.testing.assert_array_equal(back.w.data, np.arange(5, dtype=np.float32))


class Scaled(Module):
    """A user module with constructor arguments and its own config."""

    def __init__(self, n, scale=2.0):
        self.scale = scale
        self.inner = Linear(n, n, rng=0)
        self.gain = Parameter(np.ones(n))

    def config(self):
        return {"n": self.inner.in_features, "scale": self.scale}

    @classmethod
    def parameter_specs(cls, config):
        n = config["n"]
        inner = Linear.parameter_specs({"in_features": n, "out_features": n})
        return {**{f"inner.{name}": spec for name, spec in inner.items()}, "gain": ParameterSpec((n,), np.dtype("f8"))}

    def forward(self, x):
        return self.inner(x) * self.gain * self.scale


class NoConfig(Module):
    def __init__(self, n):
        self.w = Parameter(np.zeros(n))


def test_a_user_module_with_a_config_and_its_parameter_specs_is_rebuilt(tmp_path):
    m = Scaled(3, scale=0.5)
    with glassgrad.no_grad():
        m.gain[:] = [1.0, 2.0, 3.0]
    back = load(save(m, tmp_path / "s.npz"))
    assert isinstance(back, Scaled) and back.scale == 0.5
    np.testing.assert_array_equal(back(np.ones(3)).data, m(np.ones(3)).data)


def test_a_module_without_a_config_loads_into_one_you_build(tmp_path):
    m = NoConfig(3)
    with glassgrad.no_grad():
        m.w[:] = 7.0
    path = save(m, tmp_path / "n.npz")
    with pytest.raises(ModuleFileError, match=r"no config\(\) to rebuild it: build the model and call load"):
        load(path)
    into = NoConfig(3)
    assert load(path, into=into) is into and into.w.data.tolist() == [7.0, 7.0, 7.0]
    with pytest.raises(ModuleFileError, match=r"does not fit NoConfig: .*'w' is float64\[4\]"):
        load(path, into=NoConfig(4))


def test_the_write_is_atomic(tmp_path, monkeypatch):
    path = save(mlp(0), tmp_path / "net.npz")
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save(mlp(1), path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # and no temporary file is left


def _rewrite(path, header=None, **arrays):
    """Write an npz with a (possibly broken) header and arrays."""
    extra = {} if header is None else {"__glassgrad__": np.frombuffer(json.dumps(header).encode(), np.uint8)}
    np.savez(path, **extra, **arrays)
    return path


def test_every_unusable_file_gets_a_one_line_error(tmp_path):
    good = save(mlp(), tmp_path / "good.npz")
    header, arrays = serialize.read(good)
    (tmp_path / "text.npz").write_text("not a zip")
    cases = {
        tmp_path / "missing.npz": "does not exist",
        tmp_path / "text.npz": "is not a readable .npz file",
        _rewrite(tmp_path / "plain.npz", None, w=np.zeros(2)): "is not a glassgrad-module file",
        _rewrite(tmp_path / "v9.npz", {**header, "format_version": 9}, **arrays): "format version 9",
        _rewrite(tmp_path / "lost.npz", header, **{k: v for k, v in arrays.items() if k != "0.bias"}): (
            r"damaged: its header lists parameters \['0.bias'"
        ),
        _rewrite(tmp_path / "shape.npz", header, **{**arrays, "0.bias": np.zeros(4)}): (
            r"damaged: parameter '0.bias' is float64\[4\] but the header says"
        ),
        _rewrite(
            tmp_path / "ints.npz", _retyped(header, "0.bias", "int64"), **{**arrays, "0.bias": np.zeros(3, int)}
        ): ("parameters are floating point"),
        _rewrite(
            tmp_path / "cls.npz", {**header, "architecture": {"class": "json.tool.Evil", "config": {}}}, **arrays
        ): "unknown module class json.tool.Evil: import the code that defines it first",
        _rewrite(tmp_path / "cfg.npz", _layer_config(header, {"in_features": 4.0}), **arrays): (
            "cannot rebuild the architecture .*in_features must be an integer ≥ 1"
        ),
    }
    for path, message in cases.items():
        with pytest.raises(ModuleFileError, match=message) as info:
            load(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert "json.tool" not in sys.modules  # a file names classes, it never imports code


def _retyped(header, name, dtype):
    params = {**header["parameters"], name: {**header["parameters"][name], "dtype": dtype}}
    return {**header, "parameters": params}


def _layer_config(header, changes):
    arch = json.loads(json.dumps(header["architecture"]))
    arch["config"]["layers"][0]["config"].update(changes)
    return {**header, "architecture": arch}


def test_save_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(TypeError, match="expected a glassgrad Module, got dict"):
        save({"w": np.zeros(2)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="metadata must be JSON values"):
        save(mlp(), tmp_path / "x.npz", metadata={"when": object()})
    assert not (tmp_path / "x.npz").exists()


def test_architecture_says_when_a_module_cannot_be_rebuilt():
    assert "config" not in architecture(NoConfig(2))
    assert "config" not in architecture(Sequential(NoConfig(2), ReLU()))
