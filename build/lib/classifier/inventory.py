"""Customers, their services and curators, and how alerts are bound to them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

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


class Service(Strict):
    id: Ident
    name: str
    match: Match = Field(default_factory=Match)
    curators: list[EmailStr] | None = None  # default: all of the customer's curators
    default_kind: Kind | None = None  # what an alert whose meaning no rule recognises becomes


class Customer(Strict):
    id: Ident
    name: str
    curators: list[Curator] = Field(default_factory=list)
    match: Match = Field(default_factory=Match)
    services: list[Service] = Field(default_factory=list)
    default_kind: Kind | None = None

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
