"""A small client for the service under test, speaking its HTTP API."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from bridge import schema
from tests.conftest import TOKENS

AM = TOKENS["ALERTBRIDGE_TOKEN_ALERTMANAGER"]
ZBX = TOKENS["ALERTBRIDGE_TOKEN_ZABBIX"]
ENG = TOKENS["ALERTBRIDGE_TOKEN_ENGINEER"]
TABLES = (schema.alert_events, schema.alerts, schema.incidents, schema.tickets, schema.articles, schema.outbox)


class Api:
    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self.client = svc.client

    async def post(
        self,
        path: str,
        body: Any = None,
        token: str | None = AM,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(body).encode()
        resp = await self.client.post(path, data=data, headers=headers)
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    async def am(self, body: Any) -> tuple[int, Any]:
        return await self.post("/api/v1/alertmanager", body, AM)

    async def zbx(self, body: Any) -> tuple[int, Any]:
        return await self.post("/api/v1/zabbix", body, ZBX)

    async def get(self, path: str, token: str | None = ENG) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await self.client.get(path, headers=headers)
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    async def incidents(self, **filters: str) -> list[dict[str, Any]]:
        q = "&".join(f"{k}={v}" for k, v in {**filters, "limit": "5000"}.items())
        status, body = await self.get(f"/api/v1/incidents?{q}")
        assert status == 200, body
        return list(body["incidents"])

    async def incident(self, incident_id: int) -> dict[str, Any]:
        status, body = await self.get(f"/api/v1/incidents/{incident_id}")
        assert status == 200, body
        return dict(body)

    async def ticket(self, number: str) -> dict[str, Any]:
        status, body = await self.get(f"/api/v1/tickets/{number}")
        assert status == 200, body
        return dict(body)

    async def deliver(self) -> int:
        """Run the outbox once, as the background dispatcher would."""
        total = 0
        while True:
            n = await self.svc.dispatcher.deliver_due()
            total += n
            if n == 0:
                return total

    async def counts(self) -> dict[str, int]:
        out = {}
        async with self.svc.db.read() as conn:
            for t in TABLES:
                out[t.name] = (await conn.execute(select(func.count()).select_from(t))).scalar_one()
        return out

    async def outbox(self) -> list[dict[str, Any]]:
        async with self.svc.db.read() as conn:
            rows = (await conn.execute(select(schema.outbox).order_by(schema.outbox.c.id))).mappings().all()
        return [dict(r) for r in rows]
