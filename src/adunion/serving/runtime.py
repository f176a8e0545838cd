"""Serving's long-lived parts, as ``adunion.bootstrap`` wires them: the index holder, the engine
and its hot counters, the offer signer, the decision log and the fill tally."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.serving.counters import ServingCounters
from adunion.serving.decision_log import DecisionLog, MemoryDecisionLog
from adunion.serving.engine import DecisionEngine
from adunion.serving.fill import FillTally
from adunion.serving.holder import IndexHolder
from adunion.serving.tokens import TokenSigner


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

    def start(self) -> None:
        """In the app's lifespan: the decision log's pusher, the index refresh and its first
        load (off the event loop), the fill tally's flusher."""
        self.decisions.start()
        self.holder.start()
        self.holder.changed()
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
