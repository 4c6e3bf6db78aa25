"""A token bound to one customer reaches nothing of another; no secret ever reaches the log."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import TOKENS, load_settings
from tests.integration import bodies
from tests.integration.api import ENG, Api

ACME_SECRET = "acme-bound-work-secret-0123456789"


def _window(customer: str, service: str) -> dict[str, Any]:
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return {"customer": customer, "service": service, "engineer": "Olga", "reason": "works", "ends_at": ends}


async def test_a_token_bound_to_a_customer_can_neither_read_nor_change_another(
    database_url: str, service_factory: Any
) -> None:
    tokens = [
        {
            "name": "acme-desk",
            "sha256": hashlib.sha256(ACME_SECRET.encode()).hexdigest(),
            "scopes": ["findings", "work", "read"],
            "customer": "acme",
        },
        {"name": "eng", "token": ENG, "scopes": ["findings", "work", "read"]},
        {"name": "am", "token": TOKENS["ALERTBRIDGE_TOKEN_ALERTMANAGER"], "scopes": ["alertmanager"]},
    ]
    api = Api(await service_factory(load_settings(database_url, tokens=tokens)))
    assert (await api.am(bodies.body([bodies.alert(bodies.MAIL_DOWN, {"summary": "down"})])))[0] == 200
    [globex] = await api.incidents(customer="globex")
    status, window = await api.post("/api/v1/maintenance", _window("globex", "mail"), ENG)
    assert status == 201, window
    before = await api.counts()

    async def refused(method: str, path: str, body: Any = None) -> None:
        if method == "GET":
            status, answer = await api.get(path, token=ACME_SECRET)
        else:
            status, answer = await api.post(path, body if body is not None else {}, ACME_SECRET)
        assert status in (403, 404, 422), (method, path, status, answer)

    who = {"engineer": "Mallory", "text": "taking it"}
    await refused("GET", f"/api/v1/incidents/{globex['id']}")
    await refused("GET", f"/api/v1/tickets/{globex['ticket']}")
    await refused("POST", f"/api/v1/incidents/{globex['id']}/acknowledge", who)
    await refused("POST", f"/api/v1/incidents/{globex['id']}/close", who)
    await refused("POST", f"/api/v1/incidents/{globex['id']}/notes", who)
    await refused("POST", "/api/v1/maintenance", _window("globex", "mail"))
    await refused("POST", f"/api/v1/maintenance/{window['id']}/end", {"engineer": "Mallory"})
    await refused("POST", "/api/v1/findings", {"customer": "globex", "service": "mail", "title": "x", "engineer": "M"})
    # lists show its own customer only, whatever the query asks for
    for path in ("/api/v1/incidents?customer=globex", "/api/v1/maintenance?customer=globex", "/api/v1/outbox"):
        status, page = await api.get(path, token=ACME_SECRET)
        assert status == 200
        text = repr(page)
        assert "globex" not in text.lower(), (path, page)
    assert await api.counts() == before  # nothing was changed by any of it


async def test_no_token_password_or_secret_reaches_the_log(
    pg_database_url: str, service_factory: Any, mailbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # a database URL and an SMTP URL with passwords, and every kind of token in use
    url = pg_database_url.replace("postgresql://postgres@", "postgresql://postgres:db-password-s3cr3t@")
    smtp = mailbox.url.replace("smtp://", "smtp://mailuser:smtp-password-s3cr3t@")
    caplog.set_level(logging.DEBUG)
    api = Api(await service_factory(load_settings(url, smtp)))
    await api.am(bodies.website())
    await api.post("/api/v1/alertmanager", bodies.website(), "wrong-token-s3cr3t")
    await api.get("/api/v1/incidents", token="another-wrong-s3cr3t")
    await api.deliver()
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (*TOKENS.values(), "wrong-token-s3cr3t", "another-wrong-s3cr3t", "db-password", "smtp-password"):
        assert secret not in text, secret
