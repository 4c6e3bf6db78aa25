"""Fixtures for the real-peer tests: an SMTP server, alertbridge as a process, a real Alertmanager.

Names are prefixed (e2e_*) so they do not shadow tests/conftest.py's in-process `mailbox` or the
fixtures of test_zabbix_mediatype.py. Processes are module-scoped: one scenario per module walks
through them step by step. When a test using them fails, the tails of their logs are attached
to its report.

Without /usr/bin/prometheus-alertmanager the tests that need it skip, or fail when
ALERTBRIDGE_E2E_REQUIRE=1 (make e2e).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import ALERTMANAGER_BIN, Alertbridge, Alertmanager, Mailbox, Process

_LIVE: list[Process] = []  # processes started by these fixtures, for the failure report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    uses = set(getattr(item, "fixturenames", ())) & {"e2e_alertbridge", "e2e_alertmanager"}
    if report.failed and uses:
        for proc in _LIVE:
            report.sections.append((f"{proc.name} log (tail of {proc.log_path})", proc.tail(80)))


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    """Path of Debian's Alertmanager; skips, or fails with ALERTBRIDGE_E2E_REQUIRE=1, without it."""
    if os.path.isfile(ALERTMANAGER_BIN) and os.access(ALERTMANAGER_BIN, os.X_OK):
        return ALERTMANAGER_BIN
    found = shutil.which("prometheus-alertmanager")
    if found:
        return found
    message = (
        f"{ALERTMANAGER_BIN} is not installed: install the Debian package(s) listed in "
        "tests/e2e/apt-packages.txt (bash tests/e2e/install_peers.sh as root, or "
        "apt-get install --no-install-recommends prometheus-alertmanager)"
    )
    if os.environ.get("ALERTBRIDGE_E2E_REQUIRE") == "1":
        pytest.fail(message + " (ALERTBRIDGE_E2E_REQUIRE=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def e2e_mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="module")
def e2e_alertbridge(e2e_mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertbridge]:
    ab = Alertbridge(tmp_path_factory.mktemp("alertbridge"), smtp_url=e2e_mailbox.url)
    _LIVE.append(ab)
    try:
        ab.start()
        yield ab
    finally:
        code = ab.stop()
        _LIVE.remove(ab)
        if code not in (0, None):
            print(f"\nalertbridge exited with status {code}; log tail:\n{ab.tail()}")


@pytest.fixture(scope="module")
def e2e_alertmanager(
    alertmanager_binary: str, e2e_alertbridge: Alertbridge, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alertmanager]:
    am = Alertmanager(
        tmp_path_factory.mktemp("alertmanager"),
        webhook_url=e2e_alertbridge.webhook_url,
        token=e2e_alertbridge.alertmanager_token,
        binary=alertmanager_binary,
    )
    _LIVE.append(am)
    try:
        am.start()
        yield am
    finally:
        am.stop(grace=10.0)
        _LIVE.remove(am)
