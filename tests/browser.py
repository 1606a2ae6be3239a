"""Headless Chromium for the browser tests, driven by Playwright on a thread of its own.

Playwright's sync API keeps an asyncio event loop running on the thread that started it, and
Django refuses database access from a thread with a running loop (SynchronousOnlyOperation). So
the browser lives on a dedicated thread and the test hands it steps to run; the test's own
thread stays an ordinary Django thread for fixtures, queries and teardown, with Django's safety
check left on (no DJANGO_ALLOW_ASYNC_UNSAFE).

Chromium is Debian's (`apt-get install chromium`, as .ci/run does), never a downloaded one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP_TIMEOUT = 120  # seconds a step may take, the page's own waits included

T = TypeVar("T")


class Browser:
    """One headless Chromium page on the browser thread (of a context with `context_options`).
    `run(step, *args)` calls `step(page, *args)` there and returns its result; its exceptions are
    raised in the caller."""

    def __init__(self, viewport: dict | None = None, **context_options: Any):
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError(
                f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium)"
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._viewport = viewport or {"width": 1400, "height": 900}
        self._context_options = context_options  # e.g. ignore_https_errors=True
        self._playwright = self._chromium = self.page = None
        try:
            self._call(self._start)
        except BaseException:
            self.close()
            raise

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        return self._thread.submit(function, *args).result(timeout=STEP_TIMEOUT)

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._chromium = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        self.page = self._chromium.new_page(viewport=self._viewport, **self._context_options)
        self.page.set_default_timeout(30_000)

    def run(self, step: Callable[..., T], *args: Any) -> T:
        return self._call(step, self.page, *args)

    def close(self) -> None:
        def stop():
            if self._chromium is not None:
                self._chromium.close()
            if self._playwright is not None:
                self._playwright.stop()

        try:
            self._call(stop)
        finally:
            self._thread.shutdown(wait=True)
