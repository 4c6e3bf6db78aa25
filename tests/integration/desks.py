"""Helpers shared by the remote desk tests: a service whose customer acme uses a given desk, and what
the tests read back from alertbridge's side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update

from bridge.schema import outbox
from tests.conftest import ROOT, load_settings
from tests.integration.api import Api


async def desk_api(
    name: str, desk: dict[str, Any], database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path
) -> Api:
    """alertbridge on config/example.yaml with acme's tickets mirrored to `desk` (a `desks:` entry)."""
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    cfg["desks"] = {name: desk}
    next(c for c in cfg["customers"] if c["id"] == "acme")["desk"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return Api(await service_factory(load_settings(database_url, mailbox.url, config=path)))


async def local_ticket(api: Api, incident_id: int) -> dict[str, Any]:
    """The built-in desk's ticket of an incident."""
    return await api.ticket((await api.incident(incident_id))["ticket"])


async def backoff_passed(api: Api) -> None:
    """Make every pending outbox row due now, as if its backoff had passed."""
    async with api.svc.db.transaction() as conn:
        await conn.execute(
            update(outbox).where(outbox.c.state == "pending").values(next_attempt_at=outbox.c.created_at)
        )


async def desk_rows(api: Api) -> list[dict[str, Any]]:
    return [r for r in await api.outbox() if r["kind"] == "desk"]
