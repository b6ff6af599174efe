"""The benchmark harness: its cross-library check, and a --quick run end to end on
glassgrad and hand-written NumPy (peers are not installed here: they must be SKIP)."""

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import run as bench_run  # noqa: E402  (benchmarks/ is a directory of scripts, not a package)


def _hello(loss, grad, params, fingerprint=(1.0, 2.0)):
    return {"fingerprint": list(fingerprint), "check": {"loss": loss, "grad": list(grad), "params": list(params)}}


def test_check_passes_within_tolerance_and_names_what_failed():
    ref = _hello(0.5, [1.0, -2.0], [3.0, 4.0])
    ok, text = bench_run.check_against(_hello(0.5 + 1e-12, [1.0, -2.0], [3.0, 4.0]), ref)
    assert ok and text.startswith("OK")
    ok, text = bench_run.check_against(_hello(0.5, [1.0, -2.0 + 1e-6], [3.0, 4.0]), ref)
    assert not ok and text.startswith("FAIL (grad")
    ok, text = bench_run.check_against(_hello(0.5, [1.0, -2.0], [3.0, 4.0], fingerprint=(1.5, 2.0)), ref)
    assert not ok and "different data" in text
    assert bench_run.check_against(_hello(0.5, [1.0], [3.0, 4.0]), ref)[0] is False  # a missing gradient


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, os.path.join(BENCH, "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "benchmarks.json").read_text()), (out / "benchmarks.md").read_text(), out


def test_quick_run_checks_and_times_glassgrad_against_numpy(quick_run):
    run, md, _ = quick_run
    for key in ("W1", "W1-large", "W2", "W3"):
        libs = run["workloads"][key]["libraries"]
        own = [lib for lib in libs if lib.startswith(("glassgrad", "numpy"))]
        assert len(own) == 3  # numpy by hand, glassgrad eager, glassgrad traced
        for lib in own:
            assert libs[lib]["check_ok"], (key, lib, libs[lib]["check"])
            s = libs[lib]["stats"]
            assert 0 < s["min"] <= s["median"] <= s["max"]
        for lib in set(libs) - set(own):
            assert "skip" in libs[lib], (key, lib)
        assert f"### {key}:" in md
    assert "FAIL" not in md
    assert (quick_run[2] / "benchmarks.png").stat().st_size > 0  # the bar chart of the ratios


def test_quick_deep_chain_gradients_match_the_float_sweep(quick_run):
    rows = [r for r in quick_run[0]["workloads"]["W4"]["runs"] if r["lib"].startswith("glassgrad")]
    assert rows and all(r["result"].startswith("ok") for r in rows)
    assert all(r["ns_per_op"] > 0 for r in rows)


def test_quick_memory_run_keeps_float32_without_copying_X(quick_run):
    mem = quick_run[0]["workloads"]["W5"]["libraries"]["glassgrad"]
    assert "error" not in mem, mem
    assert mem["weights_dtype"] == "float32" and mem["finite"]
    if not mem["peak_reset"]:
        pytest.skip("this kernel does not let a process reset its peak RSS (/proc/self/clear_refs)")
    # A float64 copy of X would add twice the data's size; float32 end to end adds ~nothing.
    assert mem["peak"] - mem["after_data"] < mem["data_bytes"] / 2


def test_mnist_idx_files_are_read_as_pixels_over_255_and_is_a_9_labels(tmp_path):
    import gzip

    import numpy as np
    import synthetic_data

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = np.array([9, 1, 9, 0, 4, 9], dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        b"\0\0\x08\x03" + b"".join(int(n).to_bytes(4, "big") for n in images.shape) + images.tobytes()
    )
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\0\0\x08\x01" + (6).to_bytes(4, "big") + labels.tobytes())
    X, y = synthetic_data.load(5, "float32", 0, str(tmp_path))
    assert X.shape == (5, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, images[:5].reshape(5, -1) / np.float32(255))
    np.testing.assert_array_equal(y, [1, 0, 1, 0, 0])
    with pytest.raises(ValueError, match="holds 6"):
        synthetic_data.load(7, "float32", 0, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="IDX"):
        synthetic_data.load(5, "float32", 0, str(tmp_path / "missing"))


def test_scalar_differential_runs_against_python_floats_and_prints_runnable_programs(capsys):
    """The Scalar differential's torch-free half: random programs against Python floats
    for a second of CPU, no mismatch; a program it prints runs and computes its values."""
    import numpy as np
    import scalar_differential as sd

    assert sd.main(["--seconds", "1", "--oracle", "python", "--seed", "5"]) == 0
    assert "mismatches reported: 0" in capsys.readouterr().out
    rng = np.random.default_rng(5)
    for _ in range(20):
        program = sd.random_program(rng, special=True, mode="backward")
        run = sd.forward(program, sd.Glass)
        namespace: dict = {}
        with np.errstate(over="ignore"):
            if run.error is None:
                exec(sd.render(program, "backward"), namespace)
            else:
                with pytest.raises(type(run.error)):
                    exec(sd.render(program, "backward"), namespace)
        for i, v in enumerate(run.vals):
            assert np.array_equal(namespace[f"v{i}"].data, v.data, equal_nan=True)


def test_guarantees_times_every_variant_and_each_computes_the_whole_steps_parameters():
    """Each variant takes one guarantee out of the eager step without changing its
    numbers: the parameters after the timed steps equal the whole step's."""
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "guarantees.py"), "--rounds", "1", "--steps", "20"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for variant in (
        "NumPy by hand",
        "whole step",
        "no domain test of the targets",
        "no update",
        "the tape engine",
        "the least general engine with the guarantees",
    ):
        assert f"| {variant} |" in out
    assert "Parameters after the timed steps: equal in every variant of glassgrad's step; the other steps' " in out
