"""Reliability tests: kill -9, a database outage, SMTP and desk outages, all under a storm, against
real processes (`alertbridge serve`, PostgreSQL, an SMTP server).

They take minutes, so they run only when asked for: `pytest -m reliability` (any -m expression naming
`reliability`); otherwise they are deselected (not skipped), so `make test` stays as it was.
`scripts/reliability_report.py` runs them and writes RELIABILITY.md.

Each test runs under a hard limit (the module's TIMEOUT, seconds): past it, SIGALRM fails the test and
the fixtures still stop every process the test started."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.reliability.harness import Receiver, Server

MARKER = "reliability: kills, database and peer outages under a storm against real processes (minutes; -m reliability)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability" in (config.getoption("markexpr", "") or ""):
        return
    mine = [i for i in items if i.get_closest_marker("reliability") is not None]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [i for i in items if i.get_closest_marker("reliability") is None]


class HardTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def hard_timeout(request: pytest.FixtureRequest) -> Iterator[None]:
    seconds = int(getattr(request.module, "TIMEOUT", 300))

    def expired(signum: int, frame: Any) -> None:
        raise HardTimeout(f"{request.node.nodeid} ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test registers here are killed at teardown whatever happened."""
    made: list[Server] = []
    yield made
    for s in made:
        s.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()
