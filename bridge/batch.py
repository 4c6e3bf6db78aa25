"""Group commit: requests that arrive while the database is busy are stored together in one transaction.

Each request waits for the commit of the batch that carries it, so a 2xx still means "stored". Under load
the cost of a transaction (its begin, its commit and the writes shared by its requests) is paid once per
batch instead of once per request; with no load a batch holds one request and nothing waits.

If a batch fails for a reason other than a lost race, each of its requests is retried alone, so one request
that cannot be stored never takes the others down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("alertbridge.batch")

J = TypeVar("J")
R = TypeVar("R")


class GroupCommit(Generic[J, R]):
    """Runs `many(jobs)` over whatever is queued, at most `writers` batches at a time."""

    def __init__(
        self,
        many: Callable[[Sequence[J]], Awaitable[list[R]]],
        one: Callable[[J], Awaitable[R]],
        max_batch: int = 256,
        writers: int = 1,
    ) -> None:
        self._many, self._one = many, one
        self.max_batch, self.writers = max(1, max_batch), max(1, writers)
        self._queue: list[tuple[J, asyncio.Future[R]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.jobs = 0

    async def submit(self, job: J) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((job, fut))
        if self._running < self.writers:
            self._running += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # the caller waits for its own batch's commit; cancelling the caller does not cancel the batch
        return await asyncio.shield(fut)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._run(batch)
        finally:
            self._running -= 1

    async def _run(self, batch: list[tuple[J, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        jobs = [j for j, _ in batch]
        try:
            results = await self._many(jobs) if len(jobs) > 1 else [await self._one(jobs[0])]
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            log.warning("a batch of %d requests failed (%s); storing each alone", len(batch), exc)
            for job, fut in batch:
                try:
                    res = await self._one(job)
                except Exception as one_exc:
                    _fail(fut, one_exc)
                else:
                    if not fut.done():
                        fut.set_result(res)
            return
        except BaseException as exc:  # cancelled while storing: the callers must not wait forever
            for _, fut in batch:
                _fail(fut, exc)
            raise
        for (_, fut), res in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(res)

    async def idle(self) -> None:
        """Wait until everything queued has been stored (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _fail(fut: asyncio.Future[R], exc: BaseException) -> None:
    if fut.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        fut.cancel()
    else:
        fut.set_exception(exc)
        # retrieved by the caller; mark it so a caller that went away leaves no "never retrieved" noise
        fut.add_done_callback(lambda f: f.exception())
