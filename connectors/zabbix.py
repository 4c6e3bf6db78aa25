"""Zabbix 6.0 webhook bodies (alertbridge's media type) to `Alert`s: problem, update, recovery."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.alert import Alert, AlertStatus, PayloadError, Update, bounded
from connectors.validation import ascii_digits, parse_model

SOURCE = "zabbix"
MAX_VALUE = 65536
_MACRO = re.compile(r"^\{[A-Z0-9_.$#]+(?:\.[A-Za-z0-9_]+)*\}$|^\*UNKNOWN\*$")

Text = Annotated[str, StringConstraints(max_length=MAX_VALUE)]
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class ZabbixTag(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tag: Annotated[str, StringConstraints(max_length=256)]
    value: Annotated[str, StringConstraints(max_length=MAX_VALUE)] = ""


class ZabbixWebhook(BaseModel):
    """The body the shipped media type posts: every macro value as a string."""

    model_config = ConfigDict(extra="ignore")

    event_id: Digits
    event_value: Literal["0", "1"] | None = None
    event_update_status: Text = "0"
    kind: Literal["problem", "recovery", "update"] | None = None
    event_name: Text = ""
    trigger_name: Text = ""
    trigger_id: Text = ""
    trigger_description: Text = ""
    host_host: Text = ""
    host_name: Text = ""
    host_groups: Text = ""
    host_ip: Text = ""
    event_severity: Text = ""
    event_nseverity: Text = ""
    event_tags: Text = ""
    event_tags_parsed: list[ZabbixTag] | None = Field(default=None, max_length=512)
    event_opdata: Text = ""
    event_date: Text = ""
    event_time: Text = ""
    event_recovery_id: Text = ""
    event_recovery_date: Text = ""
    event_recovery_time: Text = ""
    event_update_action: Text = ""
    event_update_message: Text = ""
    event_update_user: Text = ""
    event_update_date: Text = ""
    event_update_time: Text = ""
    item_key: Text = ""
    item_name: Text = ""
    item_lastvalue: Text = ""
    zabbix_url: Text = ""
    alert_subject: Text = ""
    alert_message: Text = ""


def value(text: str) -> str:
    """A macro value, or '' when Zabbix left the macro unresolved ("{EVENT.RECOVERY.ID}", "*UNKNOWN*")."""
    text = text.strip()
    return "" if _MACRO.match(text) else text


def _when(date: str, time: str) -> datetime | None:
    date, time = value(date), value(time)
    if not date or not time:
        return None
    try:
        return datetime.strptime(f"{date} {time}", "%Y.%m.%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _incident_tag(data: Any) -> str:
    tag = data.get("event_incident_tag", "") if isinstance(data, dict) else ""
    return value(tag) if isinstance(tag, str) else ""


def _tags(body: ZabbixWebhook) -> dict[str, str]:
    tags: list[ZabbixTag] | None = body.event_tags_parsed
    if tags is None and value(body.event_tags):
        try:
            raw = json.loads(body.event_tags)
            tags = [ZabbixTag.model_validate(t) for t in raw] if isinstance(raw, list) else None
        except (ValueError, TypeError, RecursionError):
            tags = None
    out: dict[str, str] = {}
    for t in tags or []:
        out.setdefault(t.tag, t.value)
    return out


def kind_of(body: ZabbixWebhook) -> str:
    """update first (event_update_status == "1"), then the event value, then the media type's kind."""
    if body.event_update_status.strip() == "1":
        return "update"
    if body.event_value is not None:
        return "recovery" if body.event_value == "0" else "problem"
    if body.kind:
        return body.kind
    raise PayloadError('cannot tell problem from recovery: event_value must be "0" or "1"', "event_value")


def parse(data: Any) -> list[Alert]:
    """Parse one media type body into one alert; raises PayloadError naming the bad field."""
    body = parse_model(ZabbixWebhook, data)
    kind = kind_of(body)
    name = value(body.event_name) or value(body.trigger_name)
    if not name:
        raise PayloadError("event_name or trigger_name is required", "event_name")
    host = value(body.host_host) or value(body.host_name)
    trigger = value(body.trigger_id)
    group = f"trigger:{trigger}" if ascii_digits(trigger) else bounded(f"name:{host}:{name}")
    update = None
    status = AlertStatus.RESOLVED if kind == "recovery" else AlertStatus.FIRING
    if kind == "update":
        action = value(body.event_update_action)
        update = Update(
            action=action,
            message=value(body.event_update_message),
            user=value(body.event_update_user).strip(),
            closes="close" in action.lower(),
        )
        status = AlertStatus.UPDATE
    recovery_id = value(body.event_recovery_id)
    seq = int(recovery_id) if kind == "recovery" and ascii_digits(recovery_id) else int(body.event_id)
    groups = tuple(g.strip() for g in value(body.host_groups).split(",") if g.strip())
    return [
        Alert(
            source=SOURCE,
            identity=body.event_id,
            group=group,
            status=status,
            name=name,
            title=name,
            description=value(body.trigger_description),
            severity=value(body.event_severity),
            host=host,
            labels={"host": host, "host_name": value(body.host_name), "host_ip": value(body.host_ip)},
            tags=_tags(body),
            host_groups=groups,
            item_key=value(body.item_key),
            item_name=value(body.item_name),
            opdata=value(body.event_opdata),
            starts_at=_when(body.event_date, body.event_time),
            ends_at=_when(body.event_recovery_date, body.event_recovery_time) if kind == "recovery" else None,
            source_seq=seq,
            url=value(body.zabbix_url),
            update=update,
            extra={
                "trigger_id": trigger,
                "nseverity": value(body.event_nseverity),
                "incident_tag": _incident_tag(data),
            },
        )
    ]
