"""One event writer per host: a second writer on the same SQLite file relays to the first, events
are still recorded exactly once, and the relay takes the role over when the writer stops."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.tracking.models import ServingStat, TrackingEvent
from adunion.tracking.relay import HostEventWriter, relay_paths
from adunion.tracking.writer import WriterClosed
from tests.tracking.helpers import record, run


def count(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)


def test_relayed_events_are_recorded_once_by_the_host_writer(database: Database) -> None:
    async def main() -> tuple[list[bool], bool, bool]:
        first, second = HostEventWriter(database), HostEventWriter(database)
        first.start()
        await first.submit(record(new_id()))  # the first takes the role
        second.start()
        offers = [new_id() for _ in range(40)]
        # Each offer three times, from both processes: one "new" per offer, whoever sent it.
        submissions = [
            writer.submit(record(o, billable=1000))
            for o in offers
            for writer in (first, second, second)
        ]
        results = await asyncio.gather(*submissions)
        roles = (first.is_host_writer, second.is_host_writer)
        await second.stop()
        await first.stop()
        return list(results), *roles

    results, first_writes, second_writes = run(main())
    assert results.count(True) == 40
    assert count(database) == 41
    assert first_writes
    # On SQLite the second relays; on PostgreSQL every process writes for itself.
    assert second_writes is not database.is_sqlite
    with database.transaction(write=False) as session:
        stat = session.scalars(select(ServingStat)).one()
    assert stat.impressions == 41
    assert stat.spend_micros == 40 * 1000


def test_the_relay_takes_the_role_when_the_writer_stops(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL has no writer role: every process writes")

    async def main() -> tuple[bool, bool, bool]:
        first, second = HostEventWriter(database), HostEventWriter(database)
        first.start()
        await first.submit(record(new_id()))
        second.start()
        relayed = await second.submit(record("relayed"))
        was_relay = not second.is_host_writer
        await first.stop()  # answers everything relayed, then gives the role up
        with pytest.raises(WriterClosed):
            await first.submit(record(new_id()))
        for _ in range(100):  # the relay notices the closed socket and takes the free role
            if second.is_host_writer:
                break
            await asyncio.sleep(0.05)
        taken = await second.submit(record("after the handover"))
        took_role = second.is_host_writer
        await second.stop()
        return relayed and taken, was_relay, took_role

    recorded, was_relay, took_role = run(main())
    assert recorded and was_relay and took_role
    assert count(database) == 3


def test_relay_paths_only_for_an_sqlite_file(database: Database) -> None:
    paths = relay_paths(database)
    if not database.is_sqlite:
        assert paths is None
        return
    assert paths is not None
    role, socket = paths
    assert role.name.endswith("-event-writer.role")
    assert len(str(socket)) <= 100  # fits a Unix socket address
    assert relay_paths(Database("sqlite:///:memory:")) is None


_HOLDER = """
import asyncio, sys, time
from adunion.kernel.db import Database
from adunion.tracking.relay import HostEventWriter

async def main():
    writer = HostEventWriter(Database(sys.argv[1]))
    writer.start()
    while not writer.is_host_writer:
        await asyncio.sleep(0.01)
    print("holding", flush=True)
    await asyncio.sleep(600)  # killed long before

asyncio.run(main())
"""


def test_a_killed_writer_s_role_is_taken_over(database: Database, tmp_path: Path) -> None:
    """kill -9 of the process holding the role: the relay hears its socket close and takes the
    role, whose flock went with the dead process; events then commit in the survivor."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL has no writer role: every process writes")
    url = database.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        while (line := holder.stdout.readline()) and line.strip() != "holding":
            pass  # its log lines
        assert line.strip() == "holding"

        async def main() -> tuple[bool, bool, bool]:
            relay = HostEventWriter(database)
            relay.start()
            relayed = await relay.submit(record("before the kill"))
            was_relay = not relay.is_host_writer
            holder.send_signal(signal.SIGKILL)
            for _ in range(200):
                if relay.is_host_writer:
                    break
                await asyncio.sleep(0.05)
            taken = await relay.submit(record("after the kill"))
            took_role = relay.is_host_writer
            await relay.stop()
            return relayed and taken, was_relay, took_role

        recorded, was_relay, took_role = run(main())
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert recorded and was_relay and took_role
    assert count(database) == 2
