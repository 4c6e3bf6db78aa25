"""Group commit: what is queued together is stored together; a failing batch falls back to one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bridge.batch import GroupCommit


class Store:
    def __init__(self, poison: set[int] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.alone: list[int] = []
        self.poison = poison or set()
        self.in_flight = 0
        self.max_in_flight = 0

    async def many(self, jobs: Sequence[int]) -> list[int]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if self.poison & set(jobs):
                raise RuntimeError("poisoned batch")
            self.batches.append(list(jobs))
            return [j * 10 for j in jobs]
        finally:
            self.in_flight -= 1

    async def one(self, job: int) -> int:
        await asyncio.sleep(0)
        if job in self.poison:
            raise ValueError(f"job {job} cannot be stored")
        self.alone.append(job)
        return job * 10


async def test_requests_arriving_together_share_a_batch_and_get_their_own_results() -> None:
    store = Store()
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=50, writers=1)
    results = await asyncio.gather(*[gc.submit(n) for n in range(40)])
    assert results == [n * 10 for n in range(40)]
    # all forty were queued before the writer ran: one transaction for all of them
    assert store.alone == []
    assert store.batches == [list(range(40))]
    assert gc.jobs == 40


async def test_batches_are_bounded_in_size_and_in_number_at_once() -> None:
    store = Store()
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=8, writers=2)
    await asyncio.gather(*[gc.submit(n) for n in range(100)])
    assert all(len(b) <= 8 for b in store.batches)
    assert sorted([j for b in store.batches for j in b] + store.alone) == list(range(100))
    assert store.max_in_flight <= 2


async def test_one_bad_request_fails_alone_and_the_others_are_stored() -> None:
    store = Store(poison={7})
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=50, writers=1)
    results = await asyncio.gather(*[gc.submit(n) for n in range(20)], return_exceptions=True)
    assert isinstance(results[7], ValueError)
    assert [r for i, r in enumerate(results) if i != 7] == [n * 10 for n in range(20) if n != 7]
    assert 7 not in store.alone


async def test_a_caller_that_goes_away_does_not_stop_its_batch() -> None:
    store = Store()
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=50, writers=1)
    first = asyncio.ensure_future(gc.submit(1))
    second = asyncio.ensure_future(gc.submit(2))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == 10
    await gc.idle()
    assert 2 in [j for b in store.batches for j in b] + store.alone


async def test_idle_waits_for_everything_queued() -> None:
    store = Store()
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=4, writers=1)
    futs = [asyncio.ensure_future(gc.submit(n)) for n in range(10)]
    await asyncio.sleep(0)
    await gc.idle()
    assert all(f.done() for f in futs)
    assert [f.result() for f in futs] == [n * 10 for n in range(10)]


async def test_a_lone_request_is_stored_by_the_one_by_one_path() -> None:
    store = Store()
    gc: GroupCommit[int, int] = GroupCommit(store.many, store.one, max_batch=4, writers=1)
    assert await gc.submit(5) == 50
    assert await gc.submit(6) == 60
    assert store.alone == [5, 6] and store.batches == []
