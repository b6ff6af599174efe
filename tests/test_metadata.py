"""What the ecosystem expects of an installed package: a version, a licence, type
information, help texts in plain words."""

import re
import subprocess
import sys
from importlib import metadata, resources

import glassgrad
import pytest
from glassgrad.models.cli import build_parser, main

SUBCOMMANDS = ("demo", "train", "predict", "export", "descent", "graph")


def test_version_is_the_distributions_and_the_cli_prints_it(capsys):
    assert glassgrad.__version__ == metadata.version("glassgrad")
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"glassgrad {glassgrad.__version__}\n"


@pytest.mark.parametrize("argv", [[], *([c] for c in SUBCOMMANDS)])
def test_help_is_plain_words(argv):
    parser = build_parser()
    if argv:
        parser = next(a.choices[argv[0]] for a in parser._actions if isinstance(getattr(a, "choices", None), dict))
    text = parser.format_help()
    assert not re.search(r"``|`[^`]+`|:(func|class|meth|mod):", text), text


def test_every_subcommand_has_help():
    run = subprocess.run([sys.executable, "-m", "glassgrad.models.cli", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("usage: glassgrad")
    for command in SUBCOMMANDS:
        assert re.search(rf"^    {command} +\w", run.stdout, re.MULTILINE), command


def test_licence_classifiers_and_type_information():
    meta = metadata.metadata("glassgrad")
    assert meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert (resources.files("glassgrad") / "py.typed").is_file()
