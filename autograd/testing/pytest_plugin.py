"""pytest plugin: hypothesis profiles for gradient checks.

Opt-in: installing glassgrad changes nothing in another project's test run. A project
asks for these profiles with ``pytest -p glassgrad.testing.pytest_plugin`` (or
``addopts = "-p glassgrad.testing.pytest_plugin"`` in its pytest configuration, or
``pytest_plugins = ["glassgrad.testing.pytest_plugin"]`` in its top-level
``conftest.py``); the run then gets three profiles and picks one:

- ``ci``: derandomized (the same examples every run), no example database, no
  deadline, a modest number of examples — reproducible and fast;
- ``dev`` (the default on a workstation): a few random examples, the database on, so a
  failure found once is replayed first next time;
- ``thorough``: many examples, for a long hunt before a release.

Selection, first match wins: ``--glassgrad-profile NAME``; hypothesis's own
``--hypothesis-profile``; the ``GLASSGRAD_HYPOTHESIS_PROFILE`` environment variable;
``ci`` when ``CI`` is set to a true value (as CI services do); else ``dev``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # glassgrad installed without the 'testing' extra: stay out of the way
    HealthCheck = settings = None  # type: ignore[assignment,misc]

ENV_VAR = "GLASSGRAD_HYPOTHESIS_PROFILE"
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large] if HealthCheck is not None else []

PROFILES: dict[str, dict[str, Any]] = {
    "ci": {
        "max_examples": 25,
        "derandomize": True,
        "database": None,
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": _SLOW_OK,
    },
    "dev": {"max_examples": 10, "deadline": None, "suppress_health_check": _SLOW_OK},
    "thorough": {"max_examples": 1000, "deadline": None, "suppress_health_check": _SLOW_OK},
}

if settings is not None:
    for _name, _kw in PROFILES.items():
        settings.register_profile(_name, **_kw)

#: The profile this plugin loaded (None: hypothesis missing or another choice won).
active_profile: str | None = None


def choose_profile(option: str | None, env: Mapping[str, str]) -> str:
    """The profile to load, from the command-line option and the environment."""
    name = option or env.get(ENV_VAR) or ("ci" if env.get("CI", "").lower() in ("1", "true", "yes") else "dev")
    if name not in PROFILES:
        raise ValueError(f"unknown glassgrad hypothesis profile {name!r}; choose one of {sorted(PROFILES)}")
    return name


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("glassgrad")
    group.addoption(
        "--glassgrad-profile",
        choices=sorted(PROFILES),
        default=None,
        help=f"hypothesis profile for property tests (default: ${ENV_VAR}, else 'ci' when CI=true, else 'dev')",
    )


def pytest_configure(config: Any) -> None:
    global active_profile
    if settings is None or config.getoption("hypothesis_profile", None):
        return  # an explicit --hypothesis-profile is the user's choice
    try:
        active_profile = choose_profile(config.getoption("glassgrad_profile"), os.environ)
    except ValueError as exc:  # a misspelt name in the environment: a usage error, not a crash
        import pytest  # the plugin only runs inside pytest

        raise pytest.UsageError(f"{exc} (from ${ENV_VAR})") from None
    settings.load_profile(active_profile)


def pytest_report_header(config: Any) -> str | None:
    return None if active_profile is None else f"glassgrad: hypothesis profile {active_profile!r}"
