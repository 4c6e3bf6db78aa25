"""Alertmanager webhook bodies as Alertmanager 0.25 builds them, for scenarios the captures do not cover."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

ZERO = "0001-01-01T00:00:00Z"


def fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def alert(
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
    status: str = "firing",
    starts: str = "2026-11-23T10:00:00Z",
    ends: str = ZERO,
    expr: str = "up == 0",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts,
        "endsAt": ends if status == "resolved" else ZERO,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=" + quote(expr) + "&g0.tab=1",
        "fingerprint": fingerprint(labels),
    }


def body(alerts: list[dict[str, Any]], receiver: str = "alertbridge") -> dict[str, Any]:
    common = dict(set.intersection(*[set(a["labels"].items()) for a in alerts])) if alerts else {}
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    group = {k: common[k] for k in ("alertname", "customer", "service") if k in common}
    return {
        "receiver": receiver,
        "status": status,
        "alerts": alerts,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": "{}:" + json.dumps(group, sort_keys=True),
        "truncatedAlerts": 0,
    }


WEBSITE_DOWN = {
    "alertname": "BlackboxProbeFailed",
    "instance": "https://www.acme.example/",
    "job": "blackbox",
    "customer": "acme",
    "service": "website",
    "severity": "critical",
}
WEBSITE_ANN = {"summary": "Website https://www.acme.example/ is down", "description": "HTTP probe failed for 2m"}
MAIL_DOWN = {
    "alertname": "SMTPServiceDown",
    "instance": "mx1.globex.example:25",
    "job": "blackbox-smtp",
    "customer": "globex",
    "service": "mail",
    "severity": "critical",
}


def website(
    status: str = "firing", starts: str = "2026-11-23T10:00:00Z", ends: str = "2026-11-23T10:20:00Z", **labels: str
) -> dict[str, Any]:
    return body(
        [
            alert(
                {**WEBSITE_DOWN, **labels}, WEBSITE_ANN, status, starts, ends, expr='probe_success{job="blackbox"} == 0'
            )
        ]
    )
