"""load() of module files made to hurt: an architecture that promises terabytes, arrays
whose own headers lie, zip members that are encrypted or packed in unknown ways, headers
that are not UTF-8, nested too deep or too large, NaN weights, FIFOs and folders. Every
one is a one-line ModuleFileError naming the file, raised before the model is built."""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import threading
import typing
import warnings
import zipfile

import numpy as np
import pytest
from damaged_files import central_directory_field
from glassgrad.models import serialize
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector
from glassgrad.models.serialize import ModuleFileError, load, save
from glassgrad.nn import Linear, Module, Parameter, ParameterSpec, ReLU, Sequential
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TERA = 10**6  # Linear(TERA, TERA) is 8 TB of float64: any attempt to build it fails at once


def mlp():
    return Sequential(Linear(4, 3, rng=0), ReLU(), Linear(3, 2, rng=1))


def write(path, header, arrays):
    """An npz with the JSON ``header`` (a dict, or raw bytes) and ``arrays``."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    np.savez(path, __glassgrad__=np.frombuffer(text, np.uint8), **arrays)
    return path


def refused(path, *words):
    """The one-line ModuleFileError of load(path), which names the file and ``words``."""
    with pytest.raises(ModuleFileError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def good(tmp_path):
    path = save(mlp(), tmp_path / "good.npz")
    header, arrays = serialize.read(path)
    return path, header, arrays


def linear(n_in, n_out):
    return {"class": "glassgrad.nn.Linear", "config": {"in_features": n_in, "out_features": n_out}}


ARCHITECTURES = {
    "a Linear of a million by a million": linear(TERA, TERA),
    "a Sequential of a thousand such layers": {
        "class": "glassgrad.nn.Sequential",
        "config": {"layers": [linear(TERA, TERA)] * 1000},
    },
    "the small network's last layer made huge": {
        "class": "glassgrad.nn.Sequential",
        "config": {"layers": [linear(4, 3), {"class": "glassgrad.nn.ReLU", "config": {}}, linear(TERA, TERA)]},
    },
    "a classifier of a million pixels": {
        "class": "glassgrad.models.network.DigitClassifier",
        "config": {"n_classes": 10, "hidden": TERA, "n_features": TERA, "dtype": "float64"},
    },
    "a detector of a million hidden units": {
        "class": "glassgrad.models.network.HiddenLayerDetector",
        "config": {"hidden": TERA, "n_features": TERA, "dtype": "float64"},
    },
    "a logistic unit of 10¹³ pixels": {
        "class": "glassgrad.models.logistic.LogisticModel",
        "config": {"n_features": 10**13, "dtype": "float64"},
    },
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_an_architecture_its_arrays_do_not_fill_is_refused_before_it_is_built(name, good, tmp_path, monkeypatch):
    _, header, arrays = good
    built = []
    monkeypatch.setattr(Linear, "__init__", lambda *a, **k: built.append(a) or None)  # never called
    path = write(tmp_path / "huge.npz", {**header, "architecture": ARCHITECTURES[name]}, arrays)
    refused(path, "parameter")
    assert built == []


@pytest.mark.parametrize("dtype", ["float16", "longdouble", "V100000000", "int64"])
def test_a_layer_of_the_saved_size_but_another_dtype_is_refused_before_it_is_built(dtype, good, tmp_path, monkeypatch):
    _, header, arrays = good
    arch = json.loads(json.dumps(header["architecture"]))
    arch["config"]["layers"][0]["config"]["dtype"] = dtype  # 100 MB a number for V100000000
    built = []
    monkeypatch.setattr(Linear, "__init__", lambda *a, **k: built.append(a) or None)  # never called
    message = refused(write(tmp_path / "retyped.npz", {**header, "architecture": arch}, arrays), "0.weight")
    assert str(np.dtype(dtype)) in message and "float64" in message
    assert built == []


def test_a_float16_module_saved_today_still_loads(tmp_path):
    net = Sequential(Linear(3, 2, dtype=np.float16, rng=0))
    back = load(save(net, tmp_path / "half.npz"))
    assert back[0].weight.dtype == np.float16
    np.testing.assert_array_equal(back[0].weight.data, net[0].weight.data)


class Scaled(Module):
    """A module of the user's, sized by its config, that cannot say its shapes unbuilt."""

    built: typing.ClassVar[list] = []

    def __init__(self, n, dtype="float64"):
        Scaled.built.append(n)
        self.gain = Parameter(np.ones(n, dtype))  # np.ones writes every byte it asks for

    def config(self):
        return {"n": self.gain.shape[0], "dtype": str(self.gain.dtype)}


class Said(Scaled):
    """Scaled, saying its parameter's shape and dtype from the config alone."""

    @classmethod
    def parameter_specs(cls, config):
        return {"gain": ParameterSpec((config["n"],), np.dtype(config["dtype"]))}


class Fixed(Module):
    """A module whose constructor takes no arguments."""

    def __init__(self):
        self.w = Parameter(np.zeros(2))


def test_modules_of_the_user_s_own_round_trip(tmp_path):
    net = Sequential(Linear(2, 2, rng=0), Fixed(), Said(2))
    back = load(save(net, tmp_path / "mine.npz"))
    assert repr(back) == repr(net)
    assert Fixed.parameter_specs({}) == {"w": ((2,), np.float64)}
    unsaid = Sequential(Linear(2, 2, rng=0), Fixed(), Scaled(2))
    back = load(save(unsaid, tmp_path / "unsaid.npz"), into=Sequential(Linear(2, 2), Fixed(), Scaled(2)))
    assert repr(back) == repr(unsaid)


def test_a_module_of_the_user_s_that_cannot_say_its_shapes_is_not_built_from_a_file(tmp_path):
    # TERA² numbers of np.ones, from a file of a few hundred bytes (8 TB, refused by any
    # machine at once: a file asking for a few gigabytes would get them written)
    path = write(tmp_path / "scaled.npz", *saved(Scaled(2), tmp_path, n=TERA**2))
    Scaled.built.clear()
    message = refused(path, "Scaled", "parameter_specs", "into=model")
    assert "NotImplementedError" not in message and Scaled.built == []
    inside = save(Sequential(Linear(2, 2), Scaled(2)), tmp_path / "inside.npz")
    Scaled.built.clear()
    refused(inside, "Scaled", "parameter_specs")
    assert Scaled.built == []


def test_a_module_of_the_user_s_is_built_from_a_file_only_as_its_arrays_are(tmp_path):
    for config, words in (({"n": TERA**2}, ["gain", str(TERA**2)]), ({"dtype": "V100000000"}, ["gain", "V100000000"])):
        path = write(tmp_path / "said.npz", *saved(Said(2), tmp_path, **config))
        Scaled.built.clear()
        refused(path, *words)
        assert Scaled.built == []
    assert repr(load(write(tmp_path / "said.npz", *saved(Said(2), tmp_path)))) == repr(Said(2))


def saved(module, tmp_path, **config):
    """The header and arrays save writes for ``module``, its config changed by ``config``."""
    header, arrays = serialize.read(save(module, tmp_path / "saved.npz"))
    header["architecture"]["config"].update(config)
    return header, arrays


def _npy(shape, body=b""):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + body


def _replaced(path, out, name, data):
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w") as rewritten:
        for info in z.infolist():
            rewritten.writestr(info.filename, data if info.filename == name else z.read(info))
    return out


def test_an_array_whose_npy_header_promises_more_than_it_holds_is_refused_unread(good, tmp_path):
    path, _, _ = good
    lying = _replaced(path, tmp_path / "lying.npz", "0.bias.npy", _npy((TERA, TERA), b"\0" * 24))
    refused(lying, "0.bias", "1000000")


def test_an_array_shorter_than_its_header_says_is_refused(good, tmp_path):
    path, _, _ = good
    short = _replaced(path, tmp_path / "short.npz", "0.bias.npy", _npy((3,), b"\0" * 16))
    refused(short, "0.bias", "damaged")


def test_an_encrypted_member_is_one_line(good, tmp_path):
    path, _, _ = good
    refused(central_directory_field(path, tmp_path / "locked.npz", 8, 1), "encrypted")


def test_a_member_packed_by_an_unknown_method_is_one_line(good, tmp_path):
    path, _, _ = good
    refused(central_directory_field(path, tmp_path / "packed.npz", 10, 99), "compression")


def test_a_member_name_that_is_not_the_utf8_its_flag_says_is_one_line(good, tmp_path):
    # One flipped bit marks the first member's local name as UTF-8, another makes a byte
    # of it invalid: zipfile's UnicodeDecodeError went through as a traceback.
    path, _, _ = good
    data = bytearray(path.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    data[7] |= 0x08  # general-purpose flag bit 11: the name is UTF-8
    data[30] |= 0x80  # the name's first byte, now no UTF-8 character starts with it
    (tmp_path / "name.npz").write_bytes(bytes(data))
    refused(tmp_path / "name.npz", "not a readable .npz file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    errors = []

    def read():
        try:
            load(fifo)
        except ModuleFileError as exc:
            errors.append(str(exc))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # the old code waits for a writer: give it one, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load() waited for a writer on a FIFO")
    assert len(errors) == 1 and "not a regular file" in errors[0]


def test_links_and_folders(good, tmp_path):
    path, _, _ = good
    (tmp_path / "link.npz").symlink_to(path)
    assert repr(load(tmp_path / "link.npz")) == repr(mlp())
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "gone.npz")
    refused(tmp_path / "dangling.npz", "does not exist")
    (tmp_path / "folder.npz").mkdir()
    refused(tmp_path / "folder.npz", "a folder")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_weights_that_are_not_numbers_are_refused(value, tmp_path):
    net = mlp()
    net[2].bias.data[1] = value
    refused(save(net, tmp_path / "nan.npz"), "'2.bias'", "NaN or infinite")


@pytest.mark.parametrize(
    ("layers", "words"),
    [("dense", "layers"), ([1, 2], "layer 0"), (None, "layers"), ([{"config": {}}], "class")],
)
def test_a_sequential_whose_layers_are_not_architectures_is_one_line(layers, words, good, tmp_path):
    _, header, _ = good
    arch = {"class": "glassgrad.nn.Sequential", "config": {"layers": layers}}
    refused(write(tmp_path / "odd.npz", {**header, "architecture": arch, "parameters": {}}, {}), words)


def test_headers_that_are_not_utf8_json_say_so(good, tmp_path):
    _, header, arrays = good
    text = json.dumps(header).encode()
    refused(write(tmp_path / "latin.npz", text.replace(b"glassgrad", b"gl\xe4ssgrad", 1), arrays), "UTF-8")
    refused(write(tmp_path / "cut.npz", text[:-1], arrays), "JSON")
    deep = text[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(write(tmp_path / "deep.npz", deep, arrays), "nested")
    shallow_but_long = text[:-1] + b', "x": [' + b"0," * 200 + b"0]}"
    assert load(write(tmp_path / "long.npz", shallow_but_long, arrays)) is not None


def test_an_architecture_nested_a_hundred_sequentials_deep_is_refused(good, tmp_path):
    _, header, _ = good
    arch = {"class": "glassgrad.nn.ReLU", "config": {}}
    for _ in range(100):
        arch = {"class": "glassgrad.nn.Sequential", "config": {"layers": [arch]}}
    refused(write(tmp_path / "deep.npz", {**header, "architecture": arch, "parameters": {}}, {}), "nested")


def test_a_header_larger_than_any_module_s_is_refused_unparsed(good, tmp_path, monkeypatch):
    _, header, arrays = good
    padded = {**header, "metadata": {"padding": "x" * serialize.MAX_HEADER_BYTES}}
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed"))
    refused(write(tmp_path / "big.npz", padded, arrays), "header", f"{serialize.MAX_HEADER_BYTES:,}")


def test_save_refuses_what_load_would(tmp_path):
    with pytest.raises(ValueError, match="header"):
        save(mlp(), tmp_path / "x.npz", metadata={"padding": "x" * serialize.MAX_HEADER_BYTES})
    nested: list = []
    for _ in range(serialize.MAX_DEPTH):
        nested = [nested]
    with pytest.raises(ValueError, match="nested"):
        save(mlp(), tmp_path / "x.npz", metadata={"deep": nested})
    assert not (tmp_path / "x.npz").exists()


def test_arrays_of_python_objects_or_without_numbers_are_refused(good, tmp_path):
    path, _, _ = good
    objects = io.BytesIO()
    np.lib.format.write_array(objects, np.array([None, 1], dtype=object), allow_pickle=True)
    refused(_replaced(path, tmp_path / "objects.npz", "0.bias.npy", objects.getvalue()), "0.bias", "object")
    for dtype in ("complex128", "int64", "bool"):
        retyped = io.BytesIO()
        np.lib.format.write_array(retyped, np.zeros(3, dtype))
        out = _replaced(path, tmp_path / f"{dtype}.npz", "0.bias.npy", retyped.getvalue())
        refused(out, "0.bias")


def test_the_file_s_arrays_are_refused_past_the_limits_before_they_are_read(good, tmp_path, monkeypatch):
    path, _, _ = good
    monkeypatch.setattr(serialize, "MAX_BYTES", 1000)
    refused(path, "unpacks to", "1,000")
    monkeypatch.setattr(serialize, "MAX_BYTES", 1 << 30)
    monkeypatch.setattr(serialize, "MAX_ARRAYS", 3)
    refused(path, "holds 5 arrays")


# -- fuzzing ------------------------------------------------------------------------------------
def _good_bytes():
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **{
            serialize.HEADER: np.frombuffer(json.dumps(_good_header()).encode(), np.uint8),
            **mlp().state_dict(),
        },
    )
    return buffer.getvalue()


def _good_header():
    net = mlp()
    return {
        "format": serialize.FORMAT,
        "format_version": serialize.FORMAT_VERSION,
        "glassgrad": "0",
        "architecture": {"class": "glassgrad.nn.Sequential", "config": net.config()},
        "dtype": "float64",
        "parameters": {k: {"shape": list(v.shape), "dtype": "float64"} for k, v in net.state_dict().items()},
        "metadata": {},
    }


GOOD = _good_bytes()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _outcome(tmp_path, data):
    """load() of the bytes ``data``: a module of finite parameters, or one line naming the file."""
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(data)
    try:
        module = load(path)
    except ModuleFileError as exc:
        message = str(exc)
    else:
        assert all(np.isfinite(p.data).all() for p in module.parameters())
        return
    assert "\n" not in message and str(path) in message, message


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_module_file_with_damaged_bytes_loads_or_is_one_line(tmp_path, data):
    raw = bytearray(GOOD)
    kind = data.draw(st.sampled_from(["truncate", "flip", "field"]))
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "flip":
        for bit in data.draw(st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=8)):
            raw[bit // 8] ^= 1 << (bit % 8)
    else:  # a size, an offset or a count of the zip or of an npy header
        at = data.draw(st.integers(0, len(raw) - 4))
        raw[at : at + 4] = struct.pack("<I", data.draw(st.sampled_from([0, 1, 2**16, 2**31, 2**32 - 1])))
    _outcome(tmp_path, bytes(raw))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_module_file_with_a_made_up_header_value_loads_or_is_one_line(tmp_path, data):
    header = _good_header()
    where = data.draw(st.sampled_from(["layer config", "layer", "layers", "architecture", "parameter", "top"]))
    value = data.draw(JSON | st.integers(0, 2**40))
    arch = header["architecture"]
    if where == "layer config":
        key = data.draw(st.sampled_from(["in_features", "out_features", "bias", "dtype", "extra"]))
        arch["config"]["layers"][data.draw(st.sampled_from([0, 2]))]["config"][key] = value
    elif where == "layer":
        arch["config"]["layers"][data.draw(st.integers(0, 2))] = value
    elif where == "layers":
        arch["config"]["layers"] = value
    elif where == "architecture":
        header["architecture"] = value
    elif where == "parameter":
        header["parameters"]["0.weight"] = value
    else:
        header[data.draw(st.sampled_from(sorted(header)))] = value
    with zipfile.ZipFile(io.BytesIO(GOOD)) as z:
        arrays = {i.filename.removesuffix(".npy"): np.load(io.BytesIO(z.read(i))) for i in z.infolist()}
    arrays.pop(serialize.HEADER)
    buffer = io.BytesIO()
    np.savez(buffer, **{serialize.HEADER: np.frombuffer(json.dumps(header).encode(), np.uint8)}, **arrays)
    _outcome(tmp_path, buffer.getvalue())


def test_the_models_glassgrad_train_writes_round_trip(tmp_path):
    for model in (LogisticModel(5), HiddenLayerDetector(hidden=3, n_features=5), DigitClassifier(n_features=5)):
        back = load(save(model, tmp_path / "m.npz"))
        assert type(back) is type(model) and repr(back) == repr(model)


def test_a_whole_number_of_a_hundred_thousand_digits_is_refused_as_python_3_11_does(good, tmp_path):
    # Python 3.10 parses it (a million digits take 10 s); 3.11 and later refuse more than 4,300
    _, header, arrays = good
    lift = getattr(sys, "set_int_max_str_digits", None)  # lifted here, to be 3.10 on every Python
    before = sys.get_int_max_str_digits() if lift else None
    if lift:
        lift(0)
    try:
        text = json.dumps(header)[:-1] + ', "n": ' + "7" * 100_000 + "}"
        refused(write(tmp_path / "digits.npz", text.encode(), arrays), "4,300 digits")
    finally:
        if lift:
            lift(before)


def test_an_array_packed_to_a_thousandth_of_its_size_is_refused_unread(tmp_path):
    # a 4 MiB layer of zeros deflates to 4 kB: a 1 MB file of such would unpack to 1 GiB
    net = Sequential(Linear(1024, 512, rng=0))
    net[0].weight.data[...] = 0.0
    plain = save(net, tmp_path / "plain.npz")
    packed = tmp_path / "packed.npz"
    with zipfile.ZipFile(plain) as z, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info))
    assert packed.stat().st_size < 40_000
    refused(packed, "'0.weight'", "numpy.savez")
    load(plain)  # the same arrays stored as save writes them load


def test_a_compressed_file_of_weights_that_do_not_pack_tightly_loads(tmp_path):
    net = Sequential(Linear(256, 128, rng=0))
    plain = save(net, tmp_path / "plain.npz")
    packed = tmp_path / "packed.npz"
    with zipfile.ZipFile(plain) as z, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info))
    assert repr(load(packed)) == repr(net)


def _npy_with_header_text(text, values):
    """An .npy (version 1.0) whose header is ``text`` (padded as numpy pads it), then ``values``."""
    length = -(-(len(text) + 11) // 64) * 64 - 10
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", length) + text.ljust(length - 1).encode() + b"\n" + values


def test_an_npy_header_numpy_cannot_tokenize_is_one_line(good, tmp_path):
    path, _, arrays = good
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }  ("  # numpy raised tokenize.TokenError
    damaged = _replaced(
        path, tmp_path / "paren.npz", "0.bias.npy", _npy_with_header_text(text, arrays["0.bias"].tobytes())
    )
    refused(damaged, "0.bias", "not a numpy array")


def test_an_npy_header_of_python_2_loads_without_a_warning(good, tmp_path):
    path, _, arrays = good
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }"  # numpy warns as it reads it
    old = _replaced(path, tmp_path / "py2.npz", "0.bias.npy", _npy_with_header_text(text, arrays["0.bias"].tobytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load(old)[0].bias.data, arrays["0.bias"])
