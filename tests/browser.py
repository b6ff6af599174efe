"""Headless Chromium for the explorer's tests, the documentation's screenshots and the
explorer's benchmark, and the few moves they all make on an explorer page.

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
from pathlib import Path
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


# Installed before any page script runs: the gap between consecutive animation frames
# and the main thread's long tasks, from the first moment of the page.
FRAME_PROBE = """
window.frameGaps = [];
window.longTasks = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push(e.duration)))
  .observe({ type: "longtask" });
let previous = performance.now();
requestAnimationFrame(function tick(now) {
  window.frameGaps.push(now - previous);
  previous = now;
  requestAnimationFrame(tick);
});
"""
# Two more frames, then the frame gaps so far.
NEXT_FRAMES = (
    "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(window.frameGaps)))"
)
# Presses keys one per animation frame and reports the frame gaps meanwhile.
PRESS_IN_FRAMES = """
const keys = arguments[0], done = arguments[arguments.length - 1];
const start = window.frameGaps.length;
let i = 0;
requestAnimationFrame(function next() {
  if (i < keys.length) {
    document.dispatchEvent(new KeyboardEvent("keydown", { key: keys[i++], bubbles: true }));
    requestAnimationFrame(next);
  } else {
    requestAnimationFrame(() => requestAnimationFrame(() => done(window.frameGaps.slice(start))));
  }
});
"""


def wait(driver: Any, timeout: float = 30) -> Any:
    """selenium's WebDriverWait (imported here: the module loads without selenium)."""
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, timeout)


def open_page(driver: Any, path: Path) -> None:
    """Load the page and wait until its drawing is in place and the first step shown."""
    driver.get(path.resolve().as_uri())
    wait(driver).until(lambda d: step(d) == 0)


def step_to(driver: Any, target: int) -> None:
    """Step the page to ``target`` with the arrow keys and wait until it shows it."""
    here = step(driver) or 0
    press(driver, *["ArrowRight" if target > here else "ArrowLeft"] * abs(target - here))
    wait(driver).until(lambda d: step(d) == target)


def press(driver: Any, *keys: str) -> None:
    """Press keys on the page, as a reader would."""
    for key in keys:
        driver.execute_script(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}))", key
        )


def step(driver: Any) -> int | None:
    """The step the page shows in full (None while its drawing is still arriving)."""
    shown = driver.execute_script("return document.body.dataset.step")
    return None if shown is None else int(shown)
