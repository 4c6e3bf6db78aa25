"""Helpers shared by the unit tests: fixture loading and alert builders (plain values, no I/O beyond reading files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from classifier import Curator, Customer, Match, Service
from connectors import alertmanager, zabbix
from connectors.alert import Alert

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
AM_DIR = FIXTURES / "alertmanager"
AM_RAW_DIR = AM_DIR / "raw"
ZBX_DIR = FIXTURES / "zabbix"
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"

AM_FIXTURES = sorted(p.name for p in AM_DIR.glob("*.json"))
ZBX_FIXTURES = sorted(p.name for p in ZBX_DIR.glob("*.json"))


def am_fixture(name: str) -> Any:
    return json.loads((AM_DIR / name).read_text(encoding="utf-8"))


def am_raw(name: str) -> bytes:
    return (AM_RAW_DIR / name).read_bytes()


def zbx_fixture(name: str) -> Any:
    return json.loads((ZBX_DIR / name).read_text(encoding="utf-8"))


def am_body(*alerts: dict[str, Any], status: str = "firing", **extra: Any) -> dict[str, Any]:
    """A version 4 webhook body around the given alerts."""
    body: dict[str, Any] = {
        "receiver": "alertbridge",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    }
    body.update(extra)
    return body


def am_item(
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
    status: str = "firing",
    generator_url: str = "",
    fingerprint: str | None = None,
    starts_at: str = "2026-11-23T10:00:00.000Z",
    ends_at: str = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": status,
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": generator_url,
    }
    if fingerprint is not None:
        item["fingerprint"] = fingerprint
    return item


def am_alert(
    alertname: str,
    summary: str,
    description: str = "",
    expr: str = "",
    severity: str = "warning",
    status: str = "firing",
    **labels: str,
) -> Alert:
    """One Alertmanager alert as the connector makes it from a realistic body."""
    from urllib.parse import quote_plus

    url = f"http://prometheus.example:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1" if expr else ""
    lab = {"alertname": alertname, "severity": severity, "instance": "app-01.example:9100", "job": "node", **labels}
    ann = {"summary": summary}
    if description:
        ann["description"] = description
    [alert] = alertmanager.parse(am_body(am_item(lab, ann, status=status, generator_url=url)))
    return alert


def zbx_alert(
    trigger: str,
    item_key: str = "",
    item_name: str = "",
    severity: str = "Average",
    description: str = "",
    opdata: str = "",
    host: str = "srv-01",
    event_value: str = "1",
    **fields: str,
) -> Alert:
    """One Zabbix alert as the connector makes it from the media type's body."""
    nsev = {"Not classified": "0", "Information": "1", "Warning": "2", "Average": "3", "High": "4", "Disaster": "5"}
    body = {
        "event_id": "1001",
        "event_value": event_value,
        "event_update_status": "0",
        "event_name": trigger,
        "trigger_name": trigger,
        "trigger_id": "20001",
        "trigger_description": description,
        "host_host": host,
        "host_name": host,
        "host_groups": "Linux servers",
        "event_severity": severity,
        "event_nseverity": nsev.get(severity, "3"),
        "event_tags": "[]",
        "event_opdata": opdata,
        "event_date": "2026.11.22",
        "event_time": "10:00:00",
        "event_recovery_id": "{EVENT.RECOVERY.ID}",
        "item_key": item_key,
        "item_name": item_name,
        **fields,
    }
    [alert] = zabbix.parse(body)
    return alert


def customers() -> list[Customer]:
    """The example configuration's two tenants, plus a third with no match criteria of its own."""
    acme = Customer(
        id="acme",
        name="Acme Ltd",
        curators=[Curator(name="Alice Carter", email="curator@acme.example")],
        match=Match(labels={"customer": "acme"}, tags={"customer": "acme"}, host_groups=["Customers/Acme"]),
        services=[
            Service(
                id="website",
                name="Company website",
                match=Match(labels={"service": "website"}, hosts=["web01.acme", "web02.acme"]),
            ),
            Service(
                id="fileserver",
                name="File server",
                match=Match(labels={"service": "fileserver"}, hosts=["acme-db01"], host_groups=["Customers/Acme"]),
            ),
        ],
    )
    globex = Customer(
        id="globex",
        name="Globex Corporation",
        curators=[Curator(name="Борис Иванов", email="it-manager@globex.example", language="ru")],
        match=Match(labels={"customer": "globex"}, tags={"customer": "globex"}, host_groups=["Customers/Globex"]),
        services=[
            Service(
                id="mail", name="Corporate e-mail", match=Match(hosts=["mx1.globex.example", "mx2.globex.example"])
            ),
            Service(id="nas", name="File storage (NAS)", match=Match(hosts=["nas-*.globex.example"])),
        ],
    )
    return [acme, globex]
