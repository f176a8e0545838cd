"""Serving's long-lived parts, as ``adunion.bootstrap`` wires them: the index holder, the engine
and its hot counters, the offer signer, the decision log and the fill tally."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.logging import get_logger
from adunion.serving.counters import ServingCounters
from adunion.serving.decision_log import DecisionLog, MemoryDecisionLog
from adunion.serving.engine import DecisionEngine
from adunion.serving.fill import FillTally
from adunion.serving.holder import IndexHolder
from adunion.serving.tokens import TokenSigner

log = get_logger("adunion.serving.runtime")


@dataclass
class ServingRuntime:
    counters: ServingCounters
    engine: DecisionEngine
    holder: IndexHolder
    signer: TokenSigner
    days: NetworkDays
    database: Database | None = None
    decisions: DecisionLog = field(default_factory=MemoryDecisionLog)
    fill: FillTally = field(default_factory=FillTally)
    # The platform's public URL (ADUNION_BASE_URL), no trailing slash: tracking links and image
    # URLs point to it, never to the request's Host header (the client's to forge).
    base_url: str = ""

    async def start(self) -> None:
        """In the app's lifespan: the decision log's pusher, the first index, the index refresh
        and the fill tally's flusher.

        The first index is built before startup completes — in a thread, so the event loop
        stays free —, and the server takes no request until then: a new or restarted worker
        never answers from an empty index (every slot "unknown" for the seconds a large index
        takes). A build that fails is logged; the refresh task tries again at its next check."""
        self.decisions.start()
        try:
            await asyncio.to_thread(self.holder.refresh)
        except Exception as exc:  # noqa: BLE001 - serving starts; the next check retries
            log.error("first serving index build failed", error=repr(exc))
        self.holder.start()
        if self.database is not None:
            self.fill.start(self.database)

    async def stop(self) -> None:
        await self.holder.stop()
        self.decisions.stop()
        if self.database is not None:  # joins the flusher and writes the last counts: off the loop
            await asyncio.to_thread(self.fill.stop, self.database)


def serving_runtime(request: Request) -> ServingRuntime:
    """The app's serving parts (set on ``app.state`` by the app factory)."""
    runtime: ServingRuntime = request.app.state.serving
    return runtime
