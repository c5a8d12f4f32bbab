"""Live updates: one loop watches the store and tells every open page what changed.

The loop reads a fingerprint per topic (``fleet``, ``routine``, ``commands``)
every ``poll_s`` and puts the names of the changed topics on each subscriber's
queue; the page then fetches its own fresh fragment. Watching the store rather
than the service's memory means that a change made by another central process
(scale-out on PostgreSQL) reaches this process's pages too. The events carry
only topic names, never data, so nothing leaks to a page that a refetch (which
checks the role again) would not show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from central.store.models import CommandRecord
from central.web import fleet, routine
from central.web.reads import Reader

log = logging.getLogger(__name__)
TOPICS = ("fleet", "routine", "commands")
_KEEPALIVE_S = 15.0


class Live:
    """The change watcher and its subscribers.

    :param Reader reader: read-only sessions on the central store.
    :param float poll_s: seconds between looks at the store.
    :param now: the clock (aware UTC), for the fleet's silence rule.
    """

    def __init__(self, reader: Reader, poll_s: float, now: Callable[[], datetime]) -> None:
        self._reader = reader
        self._poll_s = poll_s
        self._now = now
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._last: dict[str, Any] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def _fingerprints(self) -> dict[str, Any]:
        with self._reader.session() as session:
            commands = session.execute(
                select(func.count(), func.max(CommandRecord.result_at))
            ).one()
            return {
                "fleet": fleet.fingerprint(session, self._now()),
                "routine": routine.fingerprint(session),
                "commands": tuple(commands),
            }

    async def run(self) -> None:
        """Watch until :meth:`close`; a failing look is logged and retried."""
        self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        while not self._stopping:
            if self._queues:  # nobody watching: no reads (an idle night costs nothing)
                await self._look()
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._poll_s)

    async def _look(self) -> None:
        try:
            current = await asyncio.to_thread(self._fingerprints)
        except Exception:
            log.exception("live updates: cannot read the store; retrying")
            return
        changed = [t for t in TOPICS if self._last.get(t, current[t]) != current[t]]
        self._last = current
        for queue in list(self._queues):
            for topic in changed:
                queue.put_nowait(topic)

    def poke(self) -> None:
        """Look now (after a person's own action, so that it shows at once).

        Safe from any thread: the sync routes run in a thread pool.
        """
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def close(self) -> None:
        """Stop the loop and end every stream, so that shutdown does not wait on them.

        Safe from any thread: the server's owner calls it before stopping uvicorn,
        which otherwise waits for open streams before running the app's shutdown.
        """
        self._stopping = True
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and loop is not running and not loop.is_closed():
            loop.call_soon_threadsafe(self._end_streams)
        else:
            self._end_streams()

    def _end_streams(self) -> None:
        if self._wake is not None:
            self._wake.set()
        for queue in list(self._queues):
            queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[str]:
        """One page's ``text/event-stream``: an ``update`` event per changed topic."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield "retry: 3000\n\n"
            while not self._stopping:
                try:
                    topic = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if topic is None:
                    return
                yield f"event: update\ndata: {topic}\n\n"
        finally:
            self._queues.discard(queue)
