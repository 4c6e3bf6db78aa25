"""Customers, their services and curators, and how alerts are bound to them."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator, model_validator

from classifier.rules import Rule

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Kind = Literal["incident", "fault"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Curator(Strict):
    """The customer's person responsible for a service: told when it is hit and restored."""

    name: str
    email: EmailStr
    language: Literal["en", "ru"] = "en"


class Match(Strict):
    """What binds an alert to a customer or a service. Any listed criterion that matches binds it."""

    labels: dict[str, str] = Field(default_factory=dict)  # Alertmanager label == value
    hosts: list[str] = Field(default_factory=list)  # host name (Zabbix host, instance without port)
    host_groups: list[str] = Field(default_factory=list)  # Zabbix host group
    tags: dict[str, str] = Field(default_factory=dict)  # Zabbix tag == value

    def is_empty(self) -> bool:
        return not (self.labels or self.hosts or self.host_groups or self.tags)


class Member(Strict):
    """One member of a redundant set: a host, or a part named by labels or text (a disk, a PSU, a link)."""

    name: str
    host: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    text: str | None = None  # regular expression over the alert's text

    @model_validator(mode="after")
    def _something(self) -> Member:
        if self.text:
            try:
                re.compile(self.text)
            except re.error as exc:
                raise ValueError(f"text: bad regular expression: {exc}") from None
        return self

    def matches(self, host: str, labels: dict[str, str], text: str) -> bool:
        if self.host is not None and not host_matches(self.host, host):
            return False
        if any(labels.get(k) != v for k, v in self.labels.items()):
            return False
        if self.text and not re.search(self.text, text, re.IGNORECASE):
            return False
        return self.host is not None or bool(self.labels) or bool(self.text)


class Redundancy(Strict):
    """A set of members carrying a service; `tolerate` of them may fail before the service is hit."""

    id: Ident
    members: list[Member] = Field(min_length=2)
    tolerate: int = Field(default=1, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _hosts(cls, data: object) -> object:
        # members may be written as bare host names
        if isinstance(data, dict) and isinstance(data.get("members"), list):
            data = {**data, "members": [{"name": m, "host": m} if isinstance(m, str) else m for m in data["members"]]}
        return data

    @model_validator(mode="after")
    def _sane(self) -> Redundancy:
        if self.tolerate >= len(self.members):
            raise ValueError(f"tolerate ({self.tolerate}) must be below the number of members ({len(self.members)})")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError("member names must be unique within a redundancy group")
        return self


Level = Literal["high", "medium", "low"]


class Service(Strict):
    id: Ident
    name: str
    match: Match = Field(default_factory=Match)
    curators: list[EmailStr] | None = None  # default: all of the customer's curators
    default_kind: Kind | None = None  # what an alert whose meaning no rule recognises becomes
    redundancy: list[Redundancy] = Field(default_factory=list)
    impact: Level | None = None  # a key service: every alert on it has at least this impact
    urgency_boost: int = Field(default=0, ge=0, le=2)  # raise the urgency of everything on it by steps
    rules: list[Rule] = Field(default_factory=list)  # tried first for alerts bound to this service
    notify_after: float | None = None  # hold-down before the curator hears of an outage (seconds; "5m")

    @field_validator("notify_after", mode="before")
    @classmethod
    def _hold(cls, v: object) -> object:
        from classifier.durations import parse_duration

        return None if v is None else parse_duration(v)

    @model_validator(mode="after")
    def _unique_groups(self) -> Service:
        ids = [g.id for g in self.redundancy]
        if len(set(ids)) != len(ids):
            raise ValueError("redundancy group ids must be unique within a service")
        return self


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")


class Dependency(Strict):
    """Hosts that sit behind others (behind a switch or an uplink, VMs on a hypervisor): while a parent is
    down, their alerts join the parent's incident instead of opening their own."""

    hosts: list[str] = Field(min_length=1)  # the dependent hosts (globs allowed)
    parents: list[str] = Field(min_length=1)  # the hosts they depend on

    def parents_of(self, host: str) -> list[str]:
        return list(self.parents) if any(host_matches(h, host) for h in self.hosts) else []


class Contract(Strict):
    """The customer's service-level contract: deadlines per priority and when the clock runs."""

    hours: Literal["24x7", "business"] = "24x7"
    timezone: str = "UTC"
    business_days: list[Day] = Field(default_factory=lambda: list(WEEKDAYS))
    business_start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    business_end: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
    holidays: list[date] = Field(default_factory=list)
    reaction: dict[Literal["critical", "high", "medium", "low"], float] = Field(default_factory=dict)
    resolution: dict[Literal["critical", "high", "medium", "low"], float] = Field(default_factory=dict)

    @field_validator("reaction", "resolution", mode="before")
    @classmethod
    def _durations(cls, v: object) -> object:
        from classifier.durations import parse_duration

        if isinstance(v, dict):
            return {k: parse_duration(x) for k, x in v.items()}
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v

    @model_validator(mode="after")
    def _order(self) -> Contract:
        if self.hours == "business" and self.business_end != "24:00" and self.business_start >= self.business_end:
            raise ValueError("business_start must be before business_end")
        return self


class Customer(Strict):
    id: Ident
    name: str
    curators: list[Curator] = Field(default_factory=list)
    match: Match = Field(default_factory=Match)
    services: list[Service] = Field(default_factory=list)
    default_kind: Kind | None = None
    contract: Contract = Field(default_factory=Contract)
    rules: list[Rule] = Field(default_factory=list)  # tried before the site's and the pack's rules
    impact: Level | None = None  # every alert of this customer has at least this impact
    urgency_boost: int = Field(default=0, ge=0, le=2)  # raise the urgency of all its alerts by steps
    dependencies: list[Dependency] = Field(default_factory=list)
    desk: str | None = None  # a desk defined under `desks:` that gets this customer's tickets too

    @model_validator(mode="after")
    def _unique(self) -> Customer:
        ids = [s.id for s in self.services]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"service ids must be unique within a customer: {sorted(dup)}")
        emails = {c.email.lower() for c in self.curators}
        for s in self.services:
            for e in s.curators or []:
                if e.lower() not in emails:
                    raise ValueError(f"service {s.id!r} names curator {e!r} who is not among the customer's curators")
        return self

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def curators_of(self, service_id: str | None) -> list[Curator]:
        svc = self.service(service_id) if service_id else None
        if svc is None or svc.curators is None:
            return list(self.curators)
        wanted = {e.lower() for e in svc.curators}
        return [c for c in self.curators if c.email.lower() in wanted]


def norm_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def host_matches(pattern: str, host: str) -> bool:
    """Exact (case-insensitive) host match; a pattern with * or ? is a glob."""
    p, h = norm_host(pattern), norm_host(host)
    if not h:
        return False
    if "*" in p or "?" in p:
        rx = "^" + re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        return re.match(rx, h) is not None
    return p == h
