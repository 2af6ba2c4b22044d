"""Headless Chromium for browser tests and screenshots.

Playwright (from pip) drives Debian's own Chromium (``/usr/bin/chromium``,
installed by ``./dev`` via apt): ``playwright install`` downloads a browser,
which this project never does. The flags keep Chromium off the network it
would otherwise call home to (refused here, and slow), and let it run as
root in a container.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"Debian's chromium is not installed ({CHROMIUM} missing): run ./dev test, which installs it with apt-get"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
