"""The one place where the app's long-lived parts are built and wired together."""

from __future__ import annotations

from dataclasses import dataclass

from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.metrics import Metrics, create_metrics
from adunion.kernel.ratelimit import Counter, counter_for


@dataclass
class AppContext:
    settings: Settings
    database: Database
    counters: Counter
    metrics: Metrics
    secret_key: str

    def close(self) -> None:
        self.database.dispose()


def build_context(settings: Settings, database: Database | None = None) -> AppContext:
    return AppContext(
        settings=settings,
        database=database or Database(settings.database_url),
        counters=counter_for(settings.redis_url),
        metrics=create_metrics(),
        secret_key=settings.ensure_secret_key(),
    )
