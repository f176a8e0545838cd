"""Sign-in throttling: after N failed attempts from one address in a window, answer 429."""

from __future__ import annotations

from adunion.config import Settings
from adunion.kernel.errors import TooManyRequests
from adunion.kernel.ratelimit import Counter


def _key(address: str) -> str:
    return f"login-failures:{address}"


def check_login_allowed(counters: Counter, settings: Settings, address: str) -> None:
    window = counters.peek(_key(address), settings.login_window_seconds)
    if window.count >= settings.login_attempts_per_window:
        raise TooManyRequests(
            f"too many failed sign-ins from this address; retry in {window.retry_after} s",
            window.retry_after,
        )


def record_login_failure(counters: Counter, settings: Settings, address: str) -> None:
    counters.add(_key(address), settings.login_window_seconds)
