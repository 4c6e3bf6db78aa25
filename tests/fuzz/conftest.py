"""Fuzz tests (marker `fuzz`): schemathesis against the served OpenAPI document, hypothesis on the
connectors and the classifier, and rejected requests that must change nothing in the database.

They run with the rest of the suite, bounded (well under three minutes together);
ALERTBRIDGE_FUZZ_EXAMPLES=N raises the number of examples each property or operation tries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.server import Server, write_config

MARKER = "fuzz: property-based and schema-driven fuzzing of the API, connectors and classifier (bounded)"


def pytest_configure(config: pytest.Config) -> None:
    # also belongs in pyproject's markers; registering it here keeps --strict-markers happy meanwhile
    config.addinivalue_line("markers", MARKER)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file (these tests run on SQLite only)."""
    from bridge.db import migrate

    url = f"sqlite:///{tmp_path}/alertbridge.db"
    migrate(url)
    return url


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`alertbridge migrate` then `alertbridge serve` as a subprocess on a free port (SQLite file)."""
    work = tmp_path_factory.mktemp("fuzz-server")
    config = write_config(work / "config.yaml")
    server = Server(config, f"sqlite:///{work}/alertbridge.db", work)
    try:
        server.migrate()
        server.start()
        yield server
    finally:
        server.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.fuzz.budget import TRIED

    if TRIED:
        terminalreporter.write_sep("-", f"fuzz: {sum(TRIED.values())} generated inputs tried")
        for what, n in sorted(TRIED.items()):
            terminalreporter.write_line(f"{what}: {n}")
