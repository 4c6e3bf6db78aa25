"""Alertmanager webhook (version 4) bodies to `Alert`s."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from connectors.alert import Alert, AlertStatus
from connectors.validation import UtcDatetime, in_utc_range, parse_model

SOURCE = "alertmanager"
MAX_ALERTS = 1000
MAX_LABELS = 128
MAX_VALUE = 8192

Text = Annotated[str, StringConstraints(max_length=MAX_VALUE)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=256)]
ZERO_TIME = "0001-01-01T00:00:00Z"
# labels that grade an alert rather than say what it is about
VOLATILE_LABELS = frozenset(
    {
        "severity",
        "priority",
        "urgency",
        "level",
        "alertstate",
        "prometheus_replica",
        "__alerts_path__",
        "receiver",
        "team_priority",
    }
)


class AMAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[Key, Text] = Field(max_length=MAX_LABELS)
    annotations: dict[Key, Text] = Field(default_factory=dict, max_length=MAX_LABELS)
    startsAt: UtcDatetime | None = None
    endsAt: str | None = None
    generatorURL: Text = ""
    fingerprint: Annotated[str, StringConstraints(max_length=64)] = ""

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("an alert needs at least one label")
        return v


class AMWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    receiver: Text = ""
    groupKey: Text = ""
    truncatedAlerts: int = Field(default=0, ge=0)
    groupLabels: dict[Key, Text] = Field(default_factory=dict)
    commonLabels: dict[Key, Text] = Field(default_factory=dict)
    externalURL: Text = ""
    alerts: list[AMAlert] = Field(min_length=1, max_length=MAX_ALERTS)


def expression_of(generator_url: str) -> str:
    """The PromQL expression a Prometheus generatorURL carries (`g0.expr`), or ''."""
    if not generator_url:
        return ""
    try:
        query = parse_qs(urlsplit(generator_url).query)
    except ValueError:
        return ""
    values = query.get("g0.expr") or query.get("expr") or []
    return values[0] if values else ""


def _parse_end(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-01-01"):
        return None
    try:
        return in_utc_range(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def host_of(labels: dict[str, str]) -> str:
    """The host an alert is about: explicit labels first, else the instance without its port."""
    for key in ("host", "hostname", "nodename", "node", "instance"):
        value = labels.get(key)
        if value:
            if key == "instance":
                value = value.split("://", 1)[-1].split("/", 1)[0]
                if value.startswith("["):  # [IPv6]:port
                    value = value[1:].split("]", 1)[0]
                elif value.count(":") == 1:
                    value = value.split(":", 1)[0]
            return value
    return ""


def parse(data: Any) -> list[Alert]:
    """Parse one webhook body; raises PayloadError naming the first bad field."""
    body = parse_model(AMWebhook, data)
    out: list[Alert] = []
    for a in body.alerts:
        labels = dict(a.labels)
        fingerprint = a.fingerprint or _fingerprint(labels)
        # the problem's identity leaves out labels that grade or annotate it, so a severity change
        # (a warning and a critical variant of one rule) stays the same problem
        group = problem_id(labels)
        name = labels.get("alertname", "")
        summary = a.annotations.get("summary") or a.annotations.get("message") or ""
        description = a.annotations.get("description", "")
        title = summary or name or "Alert"
        out.append(
            Alert(
                source=SOURCE,
                identity=fingerprint,
                group=group,
                status=AlertStatus(a.status),
                name=name,
                title=title,
                description=description,
                severity=labels.get("severity", ""),
                host=host_of(labels),
                labels=labels,
                annotations=dict(a.annotations),
                expression=expression_of(a.generatorURL),
                starts_at=a.startsAt,
                ends_at=_parse_end(a.endsAt),
                url=a.generatorURL,
                extra={
                    "receiver": body.receiver,
                    "groupKey": body.groupKey,
                    "truncatedAlerts": body.truncatedAlerts,
                    "externalURL": body.externalURL,
                },
            )
        )
    return out


def problem_id(labels: dict[str, str]) -> str:
    """What stays the same when the same problem is graded differently: the labels without severity and
    the like (a warning and a critical variant of one rule are one problem)."""
    return _fingerprint({k: v for k, v in labels.items() if k not in VOLATILE_LABELS})


def _fingerprint(labels: dict[str, str]) -> str:
    """Stable id for an alert sent without a fingerprint (older or hand-made bodies)."""
    import hashlib

    canon = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]
