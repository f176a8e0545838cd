"""What every entry point shares: settings, the database, rate counters, the sign-in throttle,
metrics, the secret key and the network's day. Built by ``adunion.bootstrap``; domains receive
it, never build it."""

from __future__ import annotations

from dataclasses import dataclass

from adunion.config import Settings
from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.metrics import Metrics, create_metrics
from adunion.kernel.ratelimit import Counter, counter_for
from adunion.kernel.throttle import Throttle, throttle_for


@dataclass
class AppContext:
    settings: Settings
    database: Database
    counters: Counter
    login_throttle: Throttle
    metrics: Metrics
    secret_key: str
    days: NetworkDays

    def close(self) -> None:
        self.database.dispose()


def build_context(settings: Settings, database: Database | None = None) -> AppContext:
    """The shared parts, for the app, ``adunion worker`` and the CLI's jobs."""
    return AppContext(
        settings=settings,
        database=database or Database(settings.database_url),
        counters=counter_for(settings.redis_url),
        login_throttle=throttle_for(settings.redis_url),
        metrics=create_metrics(),
        secret_key=settings.ensure_secret_key(),
        days=NetworkDays(settings.timezone),
    )
