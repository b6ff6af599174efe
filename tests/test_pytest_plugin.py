"""The pytest plugin: hypothesis profiles chosen by option, environment, or CI."""

import os
import subprocess
import sys

import pytest
from glassgrad.testing import pytest_plugin
from glassgrad.testing.pytest_plugin import ENV_VAR, PROFILES, choose_profile
from hypothesis import settings


def test_choice_order_option_then_env_then_ci_then_dev():
    assert choose_profile("thorough", {ENV_VAR: "dev", "CI": "true"}) == "thorough"
    assert choose_profile(None, {ENV_VAR: "thorough", "CI": "true"}) == "thorough"
    assert choose_profile(None, {"CI": "true"}) == "ci"
    assert choose_profile(None, {"CI": "false"}) == "dev"
    assert choose_profile(None, {}) == "dev"
    with pytest.raises(ValueError, match="unknown glassgrad hypothesis profile 'fast'"):
        choose_profile(None, {ENV_VAR: "fast"})


def test_ci_profile_is_reproducible_and_stateless():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert ci.max_examples <= 50 < settings.get_profile("thorough").max_examples
    assert set(PROFILES) == {"ci", "dev", "thorough"}


def test_this_run_loaded_a_profile():
    assert pytest_plugin.active_profile in PROFILES or pytest_plugin.active_profile is None


def _pytest(tmp_path, *args, env):
    test = tmp_path / "test_probe.py"
    test.write_text(
        "from hypothesis import settings\n"
        "def test_probe():\n"
        "    print('PROFILE', settings.default.max_examples, settings.default.derandomize)\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", str(test), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    ).stdout


OPT_IN = ("-p", "glassgrad.testing.pytest_plugin")


def test_option_and_ci_select_the_profile_in_a_real_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", ENV_VAR)}
    ci = PROFILES["ci"]["max_examples"]
    assert f"PROFILE {ci} True" in _pytest(tmp_path, *OPT_IN, env={**env, "CI": "true"})
    assert f"PROFILE {PROFILES['thorough']['max_examples']} False" in _pytest(
        tmp_path, *OPT_IN, "--glassgrad-profile", "thorough", env=env
    )
    assert f"PROFILE {PROFILES['dev']['max_examples']} False" in _pytest(tmp_path, *OPT_IN, env=env)


def test_another_project_keeps_its_own_profile(tmp_path):
    """A project whose conftest loads its own profile runs its own number of examples:
    installing glassgrad loads nothing into its test run."""
    (tmp_path / "conftest.py").write_text(
        "from hypothesis import settings\n"
        "settings.register_profile('theirs', max_examples=200, database=None)\n"
        "settings.load_profile('theirs')\n"
    )
    (tmp_path / "test_count.py").write_text(
        "from hypothesis import given, strategies as st\n"
        "seen = []\n"
        "@given(st.integers())\n"
        "def test_property(n):\n"
        "    seen.append(n)\n"
        "def test_zz_report():\n"
        "    print('EXAMPLES', len(seen))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", ENV_VAR)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "test_count.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert "EXAMPLES 200" in run.stdout, run.stdout + run.stderr
    assert "glassgrad" not in run.stdout


def test_a_misspelt_profile_in_the_environment_is_a_usage_error_not_a_traceback(tmp_path):
    (tmp_path / "test_probe.py").write_text("def test_probe():\n    pass\n")
    env = {**{k: v for k, v in os.environ.items() if k != "CI"}, ENV_VAR: "thorogh"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *OPT_IN, "test_probe.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert run.returncode == 4 and "INTERNALERROR" not in run.stdout + run.stderr
    assert (
        f"unknown glassgrad hypothesis profile 'thorogh'; choose one of ['ci', 'dev', 'thorough'] (from ${ENV_VAR})"
        in run.stderr
    )
