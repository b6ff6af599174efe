"""glassgrad train --out: the run replaces its folder whole, so that folder must never be
one the run reads from or the one the user stands in."""

from __future__ import annotations

import os

import numpy as np
import pytest
from glassgrad.models.cli import main
from mnist_files import write_idx_pair


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pictures with every digit in turn, so that any split holds 9s and other digits."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def write_data(folder):
    folder.mkdir(parents=True)
    write_idx_pair(folder, *digits(100, 0), "train")
    write_idx_pair(folder, *digits(30, 1), "t10k")
    return folder


def contents(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def train(data, out, capsys):
    code = main(["train", "--data", str(data), "--epochs", "1", "--quiet", "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("where", ["the data folder", "its parent"])
def test_a_run_folder_holding_the_training_data_is_not_replaced(where, tmp_path, capsys):
    run = tmp_path / "run"
    data = write_data(run if where == "the data folder" else run / "data")
    (run / "summary.json").write_text("{}")  # looks like an earlier run's folder
    before = contents(run)
    code, err = train(data, run, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"glassgrad train: error: --out {run} ") and "--data" in err and "another" in err, err
    assert contents(run) == before


def test_the_current_folder_is_not_replaced(tmp_path, monkeypatch, capsys):
    data = write_data(tmp_path / "data")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, err = train(data, ".", capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("glassgrad train: error: --out . ") and "current folder" in err, err
    assert os.listdir(here) == [] and sorted(os.listdir(tmp_path)) == ["data", "here"]
