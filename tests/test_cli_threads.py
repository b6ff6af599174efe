"""The threads of NumPy's BLAS while a command runs: one by default, ``--threads N`` when
asked, and the user's own count when the environment sets one."""

from __future__ import annotations

import pytest
from glassgrad.models.cli import main
from glassgrad.models.commands import predict, train
from glassgrad.models.commands.blas import THREAD_VARIABLES
from threadpoolctl import threadpool_info, threadpool_limits

OUTSIDE = 3  # the limit around main(): neither the default nor a count asked for below
COMMANDS = {"train": (train, ["train"]), "predict": (predict, ["predict", "model.npz", "--index", "0"])}


def blas_threads():
    """The thread counts of the BLAS libraries loaded (NumPy's)."""
    counts = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    if not counts:
        pytest.skip("threadpoolctl finds no BLAS library under NumPy")
    return counts


@pytest.fixture
def no_thread_variables(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


CASES = {
    "default": ([], {}, {1}),
    "--threads 2": (["--threads", "2"], {}, {2}),
    "environment": ([], {"OPENBLAS_NUM_THREADS": "2"}, {OUTSIDE}),  # read by OpenBLAS at start-up: left alone
    "--threads over the environment": (["--threads", "1"], {"OMP_NUM_THREADS": "2"}, {1}),
}


@pytest.mark.usefixtures("no_thread_variables")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_a_command_runs_with_the_blas_threads_asked_for(command, case, monkeypatch):
    module, argv = COMMANDS[command]
    options, environment, expected = CASES[case]
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    seen = []

    def record(args):
        seen.append(blas_threads())
        return 0

    monkeypatch.setattr(module, "run", record)
    with threadpool_limits(limits=OUTSIDE, user_api="blas"):
        assert main([*argv, *options]) == 0
        assert blas_threads() == {OUTSIDE}  # the limit ends with the command
    assert seen == [expected]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("value", "why"),
    [("0", "out of range"), ("-1", "out of range"), ("x", "not an integer"), ("99999999999999999999", "out of range")],
)
def test_a_bad_thread_count_is_one_line_and_exit_2(command, value, why, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*COMMANDS[command][1], "--threads", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"glassgrad {command}: error: argument --threads: "), err
    assert why in err
