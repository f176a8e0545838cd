"""The entry points of billing (the background job, ``adunion billing run``, the benchmarks):
batches until the queue is empty, one transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from adunion.billing import service
from adunion.config import Settings
from adunion.kernel.db import Database


@dataclass
class RunTotals:
    batches: int = 0
    events: int = 0
    billed_micros: int = 0
    shortfall_micros: int = 0


def bill_until_empty(
    database: Database, settings: Settings, *, batch_size: int = 2000, max_batches: int = 1000
) -> RunTotals:
    totals = RunTotals()
    for _ in range(max_batches):
        with database.transaction() as session:
            batch = service.bill_batch(session, settings, limit=batch_size)
        if not batch.events:
            break
        totals.batches += 1
        totals.events += batch.events
        totals.billed_micros += batch.billed_micros
        totals.shortfall_micros += batch.shortfall_micros
    return totals


def lag_seconds(database: Database) -> float:
    with database.transaction(write=False) as session:
        return service.lag_seconds(session)
