"""Background jobs inside the serving process: each runs in its own thread on an interval.

``adunion serve`` runs them by default (one process is the whole network); with several serving
processes, set ``ADUNION_RUN_JOBS=false`` on all but one, or run ``adunion worker`` separately.
A failing run is logged and retried on the next tick, never swallowed silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from adunion.kernel.logging import get_logger

log = get_logger("adunion.jobs")


@dataclass
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], object]
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)


class JobRunner:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._stop = threading.Event()

    def start(self) -> None:
        for job in self.jobs:
            job._thread = threading.Thread(
                target=self._loop, args=(job,), name=f"job-{job.name}", daemon=True
            )
            job._thread.start()

    def _loop(self, job: Job) -> None:
        while not self._stop.is_set():
            try:
                job.run()
            except Exception as exc:
                log.error("job_failed", job=job.name, exc_info=exc)
            self._stop.wait(job.interval_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for job in self.jobs:
            if job._thread is not None:
                job._thread.join(timeout)

    def run_forever(self) -> None:
        """For ``adunion worker``: run the jobs until interrupted."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
