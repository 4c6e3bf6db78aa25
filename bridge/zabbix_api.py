"""Zabbix, the other way: acknowledge problems with the ticket number (pyzabbix, `event.acknowledge`),
recognise alertbridge's own acknowledgements when they echo back, and reconcile open problems with
open incidents (a webhook Zabbix could not deliver, a recovery that never arrived).

pyzabbix is synchronous; its calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bridge.config import ZabbixSettings

if TYPE_CHECKING:  # pyzabbix (and requests) load only when Zabbix's API is configured
    from pyzabbix import ZabbixAPI

log = logging.getLogger("alertbridge.zabbix")

ACK_ACTION = 2 | 4  # acknowledge + add message (event.acknowledge `action` bits, Zabbix 6.0)


class ZabbixUnavailable(Exception):
    """Zabbix did not answer, or the session broke: try again later."""


class ZabbixRefused(Exception):
    """Zabbix refused the call (no permission, no such event): retrying will not help."""


class ZabbixClient:
    def __init__(self, settings: ZabbixSettings) -> None:
        self.settings = settings
        self._api: ZabbixAPI | None = None

    def _login(self) -> ZabbixAPI:
        from pyzabbix import ZabbixAPI

        if self._api is None:
            api = ZabbixAPI(self.settings.url, timeout=self.settings.timeout)
            if self.settings.token:
                api.login(api_token=self.settings.token)
            else:
                api.login(self.settings.user, self.settings.password)
            self._api = api
        return self._api

    def _call_sync(self, method: str, **params: Any) -> Any:
        import requests
        from pyzabbix import ZabbixAPIException

        try:
            api = self._login()
            obj, verb = method.split(".")
            return getattr(getattr(api, obj), verb)(**params)
        except ZabbixAPIException as exc:
            text = str(exc)
            if "re-login" in text.lower() or "session terminated" in text.lower() or "not authorized" in text.lower():
                self._api = None
                raise ZabbixUnavailable(f"Zabbix {method}: {text}") from exc
            raise ZabbixRefused(f"Zabbix {method}: {text}") from exc
        except (requests.RequestException, OSError, ValueError) as exc:
            self._api = None
            raise ZabbixUnavailable(f"Zabbix {method}: {type(exc).__name__}: {exc}") from exc

    async def call(self, method: str, **params: Any) -> Any:
        return await asyncio.to_thread(self._call_sync, method, **params)

    async def acknowledge(self, event_id: str, message: str) -> None:
        await self.call("event.acknowledge", eventids=[event_id], action=ACK_ACTION, message=message[:2048])

    async def open_problems(self) -> list[dict[str, Any]]:
        """Open trigger problems, each with its host (host, name), host groups and tags."""
        problems = await self.call(
            "problem.get",
            output=["eventid", "objectid", "name", "severity", "clock", "opdata"],
            source=0,
            object=0,
            recent=False,
            selectTags="extend",
        )
        return await self._with_hosts(problems or [])

    async def _with_hosts(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Adds host, host_name and groups (names) to problem or event rows."""
        if not rows:
            return []
        ids = [r["eventid"] for r in rows]
        events = await self.call("event.get", eventids=ids, output=["eventid"], selectHosts=["hostid", "host", "name"])
        hosts_of = {e["eventid"]: e.get("hosts") or [] for e in events}
        host_ids = sorted({h["hostid"] for hs in hosts_of.values() for h in hs})
        groups_of: dict[str, list[str]] = {}
        if host_ids:
            try:
                hosts = await self.call("host.get", hostids=host_ids, output=["hostid"], selectHostGroups=["name"])
                key = "hostgroups"
            except ZabbixRefused:  # Zabbix 6.0 calls it selectGroups
                hosts = await self.call("host.get", hostids=host_ids, output=["hostid"], selectGroups=["name"])
                key = "groups"
            groups_of = {h["hostid"]: [g["name"] for g in h.get(key) or []] for h in hosts}
        out = []
        for r in rows:
            h = (hosts_of.get(r["eventid"]) or [{}])[0]
            out.append(
                {
                    **r,
                    "host": h.get("host", ""),
                    "host_name": h.get("name", ""),
                    "groups": groups_of.get(h.get("hostid", ""), []),
                }
            )
        return out

    async def events(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Problem events by id, with `r_eventid` (its recovery event, "0" while open), tags, host and groups."""
        if not event_ids:
            return {}
        rows = await self.call(
            "event.get",
            eventids=event_ids,
            output=["eventid", "r_eventid", "value", "name", "objectid", "severity", "clock"],
            selectTags="extend",
        )
        return {r["eventid"]: r for r in await self._with_hosts(rows or [])}


SEVERITIES = ["Not classified", "Information", "Warning", "Average", "High", "Disaster"]


def problem_body(p: dict[str, Any], zabbix_url: str = "") -> dict[str, Any]:
    """A media type body (as Zabbix would have posted it) for an open problem found by reconcile."""
    import json
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(int(p.get("clock") or 0), UTC)
    sev = int(p.get("severity") or 0)
    tags = [{"tag": t.get("tag", ""), "value": t.get("value", "")} for t in p.get("tags") or []]
    return {
        "event_id": str(p["eventid"]),
        "event_value": "1",
        "event_update_status": "0",
        "kind": "problem",
        "event_name": p.get("name", ""),
        "trigger_name": p.get("name", ""),
        "trigger_id": str(p.get("objectid", "")),
        "host_host": p.get("host", ""),
        "host_name": p.get("host_name", ""),
        "host_groups": ", ".join(p.get("groups") or []),
        "event_severity": SEVERITIES[sev] if 0 <= sev < len(SEVERITIES) else "",
        "event_nseverity": str(sev),
        "event_tags": json.dumps(tags),
        "event_tags_parsed": tags,
        "event_opdata": p.get("opdata", ""),
        "event_date": when.strftime("%Y.%m.%d"),
        "event_time": when.strftime("%H:%M:%S"),
        "zabbix_url": zabbix_url,
    }


def recovery_body(alert_row: dict[str, Any], recovery_id: str, event: dict[str, Any] | None) -> dict[str, Any]:
    """A media type recovery body for a problem Zabbix no longer has open (its recovery was missed):
    the problem's own tags, host and groups, so it binds to the same customer and service."""
    if event is not None:
        body = problem_body({**event, "name": event.get("name") or alert_row["name"]})
        if not body["host_host"]:
            body["host_host"] = alert_row["host"]
    else:
        body = {"event_id": alert_row["identity"], "event_name": alert_row["name"], "host_host": alert_row["host"]}
    body.update(
        event_id=alert_row["identity"],
        event_value="0",
        event_update_status="0",
        kind="recovery",
        event_recovery_id=recovery_id,
    )
    return body
