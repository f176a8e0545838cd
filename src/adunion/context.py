"""The one place where the app's long-lived parts are built and wired together."""

from __future__ import annotations

from dataclasses import dataclass

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.metrics import Metrics, create_metrics
from adunion.kernel.ratelimit import Counter, counter_for
from adunion.serving.runtime import ServingRuntime, build_serving


@dataclass
class AppContext:
    settings: Settings
    database: Database
    counters: Counter
    metrics: Metrics
    secret_key: str
    serving: ServingRuntime

    def close(self) -> None:
        self.database.dispose()


def build_context(settings: Settings, database: Database | None = None) -> AppContext:
    database = database or Database(settings.database_url)
    counters = counter_for(settings.redis_url)
    secret_key = settings.ensure_secret_key()
    return AppContext(
        settings=settings,
        database=database,
        counters=counters,
        metrics=create_metrics(),
        secret_key=secret_key,
        serving=build_serving(settings, database, secret_key, counters),
    )
