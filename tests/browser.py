"""Headless Chromium for the explorer's tests and the documentation's screenshots.

The system's browser and driver (Debian: ``apt-get install chromium chromium-driver``)
are driven by Selenium with the driver's path given explicitly, so Selenium Manager
never downloads anything; the browser starts with a fresh profile and without its
background network traffic.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

INSTALL = "apt-get install chromium chromium-driver, and pip install selenium (the test extra)"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def missing() -> str | None:
    """Why the browser cannot run here (with how to install it), or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return f"selenium is not installed: {INSTALL}"
    if not any(shutil.which(b) for b in BROWSERS):
        return f"no Chromium on PATH: {INSTALL}"
    if not shutil.which(DRIVER):
        return f"no chromedriver on PATH: {INSTALL}"
    return None


@contextmanager
def chromium(width: int = 1200, height: int = 900) -> Iterator[Any]:
    """A headless Chromium session (Selenium WebDriver) that keeps the console log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = missing()
    if reason:
        raise RuntimeError(reason)
    browser = next(shutil.which(b) for b in BROWSERS if shutil.which(b))
    with tempfile.TemporaryDirectory(prefix="glassgrad-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(shutil.which(DRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
