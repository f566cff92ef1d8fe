"""Waiting for an event in tests: poll until it has happened, never sleep a fixed time instead."""

from __future__ import annotations

import time


def until(check, timeout: float = 90, interval: float = 0.3, what: str = "condition"):
    """Poll check() until it returns something true, and return that; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
