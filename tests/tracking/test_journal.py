"""The event journal: acknowledged once written (or fsynced), drained exactly once, recovered
after kill -9 — on SQLite and PostgreSQL, where every serving process records events this way."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adunion.kernel.days import NetworkDays
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.serving.models import ServingStat
from adunion.tracking import journal
from adunion.tracking.journal import EventJournal, WriterClosed, journal_directory
from adunion.tracking.models import TrackingEvent
from adunion.tracking.writer import EventRecord
from tests.tracking.helpers import count, record, run

DAYS = NetworkDays("UTC")
_data_dir: list[Path] = []  # this test's data directory (a PostgreSQL journal's home)


@pytest.fixture
def journal_db(database: Database, tmp_path: Path) -> Iterator[Database]:
    _data_dir.append(tmp_path)
    yield database
    _data_dir.pop()


def directory_of(database: Database) -> Path:
    return journal_directory(database, _data_dir[-1])


@pytest.fixture(params=[True, False], ids=["fsynced", "written"])
def sync(request: pytest.FixtureRequest) -> bool:
    """Both kinds of acknowledgement: after the journal's fdatasync (``ADUNION_TRACKING_JOURNAL_SYNC
    =full``), or once the event is written to it (``normal``, the default)."""
    return bool(request.param)


def writer_for(database: Database, sync: bool = True, **options: float) -> EventJournal:
    return EventJournal(database, directory_of(database), DAYS, sync=sync, **options)  # type: ignore[arg-type]


def stats(database: Database) -> tuple[int, int]:
    with database.transaction(write=False) as session:
        row = session.execute(
            select(func.sum(ServingStat.impressions), func.sum(ServingStat.spend_micros))
        ).one()
    return int(row[0] or 0), int(row[1] or 0)


def test_new_then_replay_before_and_after_the_drain(journal_db: Database, sync: bool) -> None:
    """A replay of an event journaled here is refused at once; one of an event already drained
    is journaled again, and the drain's commit listener hears of neither."""
    committed: list[tuple[str, int]] = []

    offer = new_id()

    async def main() -> list[bool]:
        writer = writer_for(journal_db, sync, drain_seconds=60)
        writer.on_commit = lambda events: committed.extend(
            (e.offer_id, e.billable_micros) for e in events
        )
        writer.start()
        answers = [await writer.submit(record(offer, billable=500))]
        answers.append(await writer.submit(record(offer, billable=500)))  # journaled here
        assert writer.has_pending(offer, "view")
        assert count(journal_db) == 0  # durable in the journal, not yet in the table
        assert committed == []  # not counted before its commit
        await writer.drain()
        assert committed == [(offer, 500)]
        assert not writer.has_pending(offer, "view")
        answers.append(await writer.submit(record(offer, billable=500)))  # in the table
        same_turn = await asyncio.gather(*(writer.submit(record("o2")) for _ in range(5)))
        answers.extend(same_turn)
        await writer.stop()
        return answers

    assert run(main()) == [True, False, True, True, False, False, False, False]
    assert committed == [(offer, 500), ("o2", 0)]
    assert count(journal_db) == 2
    assert stats(journal_db) == (2, 500)
    directory = directory_of(journal_db)
    assert list(directory.iterdir()) == []  # drained and deleted


def test_stop_commits_everything_accepted_and_then_refuses(
    journal_db: Database, sync: bool
) -> None:
    async def main() -> None:
        writer = writer_for(journal_db, sync, drain_seconds=60)
        writer.start()
        await asyncio.gather(*(writer.submit(record(new_id())) for _ in range(300)))
        await writer.stop()
        with pytest.raises(WriterClosed):
            await writer.submit(record(new_id()))

    run(main())
    assert count(journal_db) == 300


def test_the_drain_runs_by_itself(journal_db: Database, sync: bool) -> None:
    async def main() -> None:
        writer = writer_for(journal_db, sync, drain_seconds=0.02)
        writer.start()
        await writer.submit(record(new_id()))
        for _ in range(250):
            if count(journal_db) == 1:
                break
            await asyncio.sleep(0.02)
        await writer.stop()

    run(main())
    assert count(journal_db) == 1


_JOURNALING = """
import asyncio, sys
from adunion.kernel.db import Database
from pathlib import Path
from adunion.kernel.days import NetworkDays
from adunion.tracking.journal import EventJournal
from adunion.tracking.writer import EventRecord

async def main():
    database = Database(sys.argv[1])
    writer = EventJournal(
        database, Path(sys.argv[5]), NetworkDays("UTC"), drain_seconds=float(sys.argv[2]),
        sync=sys.argv[4] == "sync",
    )
    writer.start()
    n = 0
    while True:
        batch = [f"{sys.argv[3]}-{n + i}" for i in range(20)]
        n += 20
        answers = await asyncio.gather(*(
            writer.submit(EventRecord(
                id=offer, offer_id=offer, event_type="view",
                occurred_us=1_795_608_000_000_000, valid=True, slot_id="s",
                site_id="site", campaign_id="c", creative_id="cr", pricing="cpm",
                billable_micros=7,
            ))
            for offer in batch
        ))
        assert all(answers)
        print(" ".join(batch), flush=True)  # acknowledged

asyncio.run(main())
"""


def _acknowledged_then_killed(
    database: Database, drain_seconds: float, seconds: float, sync: bool
) -> set[str]:
    """Run a journaling process, kill -9 it after ``seconds``; the offers it acknowledged."""
    url = database.url.render_as_string(hide_password=False)
    mode = "sync" if sync else "write"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _JOURNALING,
            url,
            str(drain_seconds),
            new_id()[-20:],  # with "-<n>", an offer id fits the column's 36 characters
            mode,
            str(directory_of(database)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    acknowledged: set[str] = set()
    first = process.stdout.readline()
    acknowledged.update(first.split())
    assert acknowledged, "the journaling process acknowledged nothing"
    try:
        time.sleep(seconds)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    acknowledged.update(process.stdout.read().split())  # lines it printed before the kill
    process.stdout.close()
    return acknowledged


@pytest.mark.parametrize("drain_seconds", [60.0, 0.005])
def test_kill_9_loses_nothing_acknowledged_and_counts_nothing_twice(
    journal_db: Database, drain_seconds: float, sync: bool
) -> None:
    """kill -9 mid-stream: with drains off (all in the journal) and with drains every few ms
    (killed anywhere: mid-write, mid-commit, between a commit and the segment's deletion). The
    next process drains the dead one's journal: every acknowledged event is stored once, and
    the stats count exactly the stored rows."""
    acknowledged = _acknowledged_then_killed(
        journal_db, drain_seconds, random.uniform(0.3, 0.8), sync
    )
    stored_before = count(journal_db)
    heard: list[EventRecord] = []

    async def recover() -> int:
        writer = writer_for(journal_db, drain_seconds=60)
        writer.on_commit = heard.extend
        writer.start()
        await writer.drain()  # the first pass of the drain loop has looked for orphans
        for _ in range(200):
            if writer.recovered or count(journal_db) >= len(acknowledged):
                break
            await asyncio.sleep(0.01)
        await writer.stop()
        return writer.recovered

    run(recover())
    with journal_db.transaction(write=False) as session:
        stored = set(session.scalars(select(TrackingEvent.offer_id)))
    assert acknowledged <= stored
    assert stats(journal_db) == (len(stored), 7 * len(stored))
    # The recovering process is told of exactly the rows it added (the dead one never counted
    # them: it counts at its own commits).
    assert len(heard) == len({e.offer_id for e in heard}) == len(stored) - stored_before
    directory = directory_of(journal_db)
    assert [p for p in directory.iterdir() if p.suffix == ".journal"] == []


def test_a_live_writer_s_journal_is_not_taken(journal_db: Database, sync: bool) -> None:
    async def main() -> tuple[int, int]:
        alive = writer_for(journal_db, sync, drain_seconds=60)
        other = writer_for(journal_db, sync, drain_seconds=60)
        alive.start()
        await alive.submit(record(new_id()))
        taken = await asyncio.to_thread(other.recover_orphans)
        before = count(journal_db)
        await alive.stop()
        return len(taken), before

    assert run(main()) == (0, 0)
    assert count(journal_db) == 1


def test_a_drain_that_fails_after_its_commit_is_retried_and_counted_once(
    journal_db: Database, sync: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first drain commits, then fails (as a lost connection would after COMMIT): the
    segment is kept, the retry finds every event recorded, and the stats count them once."""
    real_write = journal.write_batch
    failures = [RuntimeError("the connection went away after COMMIT")]

    def commit_then_fail(
        database: Database, records: list[EventRecord], days: NetworkDays
    ) -> set[tuple[str, str]]:
        inserted = real_write(database, records, days)
        if failures:
            raise failures.pop()
        return inserted

    monkeypatch.setattr(journal, "write_batch", commit_then_fail)
    heard: list[EventRecord] = []

    async def main() -> None:
        writer = writer_for(journal_db, sync, drain_seconds=60)
        writer.on_commit = heard.extend
        writer.start()
        await asyncio.gather(*(writer.submit(record(new_id(), billable=3)) for _ in range(10)))
        with pytest.raises(RuntimeError, match="after COMMIT"):
            await writer.drain()
        assert count(journal_db) == 10  # committed, and the segment is kept all the same
        directory = directory_of(journal_db)
        assert len(list(directory.glob("*.journal"))) == 1
        await writer.drain()
        await writer.stop()

    run(main())
    assert not failures  # the commit-then-fail happened
    assert count(journal_db) == 10
    assert stats(journal_db) == (10, 30)
    assert heard == []  # the lost commit's events are never counted twice (here: not at all)


def test_a_failing_commit_listener_does_not_fail_the_drain(
    journal_db: Database, sync: bool
) -> None:
    def listener(_events: object) -> None:
        raise ConnectionError("the counters' Redis is down")

    async def main() -> None:
        writer = writer_for(journal_db, sync, drain_seconds=60)
        writer.on_commit = listener
        writer.start()
        await asyncio.gather(*(writer.submit(record(new_id())) for _ in range(4)))
        await writer.drain()  # does not raise: the rows are committed
        assert writer.drains == 1 and not writer.has_pending("x", "view")
        await writer.stop()

    run(main())
    assert count(journal_db) == 4
    directory = directory_of(journal_db)
    assert list(directory.glob("*.journal")) == []


def test_a_full_backlog_refuses_new_events(journal_db: Database, sync: bool) -> None:
    async def main() -> None:
        writer = writer_for(journal_db, sync, drain_seconds=60, max_pending=3)
        writer.start()
        await asyncio.gather(*(writer.submit(record(new_id())) for _ in range(3)))
        with pytest.raises(WriterClosed, match="backlog is full"):
            await writer.submit(record(new_id()))
        await writer.drain()
        assert await writer.submit(record(new_id()))  # drained: room again
        await writer.stop()

    run(main())
    assert count(journal_db) == 4


def test_two_processes_journaling_the_same_events_store_each_once(
    journal_db: Database, sync: bool
) -> None:
    """Two serving processes' journals (two writers, each with its own segment and lock): the
    same offers sent to both are stored once, and the stats count each once."""

    async def main() -> None:
        first = writer_for(journal_db, sync, drain_seconds=0.01)
        second = writer_for(journal_db, sync, drain_seconds=0.01)
        first.start()
        second.start()
        offers = [new_id() for _ in range(200)]
        await asyncio.gather(
            *(w.submit(record(o, billable=2)) for o in offers for w in (first, second, second))
        )
        await asyncio.gather(first.drain(), second.drain())
        await asyncio.gather(first.stop(), second.stop())

    run(main())
    assert count(journal_db) == 200
    assert stats(journal_db) == (200, 400)


def test_a_failed_journal_write_fails_its_requests_and_their_retry_is_new(
    journal_db: Database, sync: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event is pending (a replay of it refused) only once its write succeeded: the requests
    of a failed write, a replay in the same turn included, hear the error, and the client's
    retry is journaled as new."""
    offer = new_id()
    real_write = journal.os.write

    def failing_write(fd: int, data: bytes) -> int:
        raise OSError("disk full")

    async def main() -> list[bool]:
        writer = writer_for(journal_db, sync, drain_seconds=60)
        writer.start()
        monkeypatch.setattr(journal.os, "write", failing_write)
        both = asyncio.gather(
            writer.submit(record(offer)), writer.submit(record(offer)), return_exceptions=True
        )
        buffered = writer.has_pending(offer, "view")
        failed = await both
        assert not buffered  # not journaled yet: a conversion must not count it
        assert [type(e) for e in failed] == [OSError, OSError]
        assert not writer.has_pending(offer, "view")
        monkeypatch.setattr(journal.os, "write", real_write)
        answers = [await writer.submit(record(offer)), await writer.submit(record(offer))]
        await writer.stop()
        return answers

    assert run(main()) == [True, False]
    assert count(journal_db) == 1


def test_a_failed_fdatasync_fails_its_requests_and_the_event_is_drained_once(
    journal_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fdatasync runs in the journal's own thread: its error reaches every request of that
    write; the events were written, so they drain with the segment and a retry is a replay."""
    offer = new_id()
    real_sync = journal.os.fdatasync
    calls: list[int] = []

    def failing_once(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError("I/O error")
        real_sync(fd)

    async def main() -> tuple[list[type], bool, list[str]]:
        writer = writer_for(journal_db, drain_seconds=60)
        writer.start()
        monkeypatch.setattr(journal.os, "fdatasync", failing_once)
        failed = await asyncio.gather(
            writer.submit(record(offer)), writer.submit(record(offer)), return_exceptions=True
        )
        retry = await writer.submit(record(offer))
        threads = [t.name for t in threading.enumerate()]
        await writer.stop()
        return [type(e) for e in failed], retry, threads

    failed, retry, threads = run(main())
    assert failed == [OSError, OSError]
    assert retry is False  # in the segment already: a replay
    assert len(calls) == 1  # a write of replays only is not synced again
    assert "event-journal-sync" in threads
    assert count(journal_db) == 1
    for _ in range(100):  # the thread ends once the writer has stopped
        if "event-journal-sync" not in [t.name for t in threading.enumerate()]:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the journal's sync thread outlived its writer")
