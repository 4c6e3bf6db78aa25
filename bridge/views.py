"""What the API returns: incidents, tickets and articles as JSON, with their schemas for OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class AlertOut(BaseModel):
    source: str
    identity: str
    status: str
    name: str
    host: str
    attached: bool = Field(
        default=False, description="a dependent host's alert, here because a host it depends on is down"
    )
    occurrences: int
    first_seen: datetime
    last_seen: datetime


class HistoryOut(BaseModel):
    at: datetime
    author: str
    text: str
    visible_to_customer: bool


class LinkOut(BaseModel):
    id: int = Field(description="the other incident")
    relation: str = Field(description="caused_by: the other incident led to this one; causes: the reverse")


class IncidentOut(BaseModel):
    id: int
    kind: Literal["incident", "fault"] = Field(description="incident = service-affecting; fault = silent")
    customer: str
    service: str | None
    host: str
    title: str
    state: Literal["open", "resolved", "closed"]
    priority: Literal["critical", "high", "medium", "low"]
    impact: str
    urgency: str
    origin: Literal["monitoring", "engineer", "customer"]
    requester: str
    source: str
    ticket: str | None
    occurrences: int
    reopened: int
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    curator_notified: bool
    rule: str = Field(description="the classifier rule that decided the kind")
    reason: str
    binding: str = Field(description="how the alert was bound to its customer and service")
    key: str = Field(description="correlation key (always starts with the customer)")
    previous_id: int | None
    stage: Literal["new", "in_progress", "resolved", "closed"] = Field(
        description="new: nobody has taken it; in_progress: an engineer took it (acknowledge); then resolved, closed"
    )
    acknowledged_at: datetime | None = Field(default=None, description="when an engineer took it")
    acknowledged_by: str | None = Field(default=None, description="who took it")
    reaction_due: datetime | None = Field(default=None, description="contract deadline for an engineer's reaction")
    resolution_due: datetime | None = Field(default=None, description="contract deadline for resolution")
    reaction_breached_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    flapping: bool = Field(default=False, description="its state changes too often; it resolves once quiet")
    settle_at: datetime | None = Field(default=None, description="a flapping incident resolves if quiet until then")
    alerts: list[AlertOut] | None = None
    links: list[LinkOut] | None = None
    history: list[HistoryOut] | None = Field(default=None, description="what happened, oldest first (one incident)")


class ArticleOut(BaseModel):
    author: str
    body: str
    visible_to_customer: bool
    created_at: datetime


class TicketOut(BaseModel):
    number: str
    queue: str
    state: str
    title: str
    customer: str
    service: str | None
    requester: str
    origin: str
    priority: str
    incident_id: int
    created_at: datetime
    updated_at: datetime
    desk: str | None = Field(default=None, description="the remote desk this ticket is mirrored to, if any")
    external_id: str | None = Field(default=None, description="the ticket's id in that desk, once created there")
    external_url: str | None = None
    articles: list[ArticleOut]


class Window(BaseModel):
    id: int
    customer: str
    service: str | None
    host: str | None
    reason: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    ended_at: datetime | None


class IncidentPage(BaseModel):
    incidents: list[IncidentOut]
    total: int
    next: str | None


class AlertOutcome(BaseModel):
    alert: str
    action: str
    why: str
    customer: str
    incident_id: int | None
    ticket: str | None
    kind: str | None


class Accepted(BaseModel):
    status: Literal["accepted"]
    event: int = Field(description="id of the stored inbox event")
    alerts: list[AlertOutcome]
    incident_id: int | None = Field(description="the first alert's incident (Zabbix sets it as an event tag)")
    ticket: str | None


class Problem(BaseModel):
    error: str
    message: str
    field: str | None = None


def stage_of(row: dict[str, Any]) -> str:
    """The desk-practice lifecycle stage: `state` (open|resolved|closed) with `open` split by whether it was taken."""
    if row["state"] != "open":
        return str(row["state"])
    return "in_progress" if row.get("acknowledged_at") is not None else "new"


def incident_json(
    row: Any, alert_rows: list[Any] | None = None, links: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    data = dict(row)
    data["stage"] = stage_of(data)
    if alert_rows is not None:
        data["alerts"] = [dict(a) for a in alert_rows]
    if links is not None:
        data["links"] = links
    return IncidentOut.model_validate(data).model_dump(mode="json", exclude_none=False)


def ticket_json(row: Any, article_rows: list[Any]) -> dict[str, Any]:
    data = {**dict(row), "articles": [dict(a) for a in article_rows]}
    return TicketOut.model_validate(data).model_dump(mode="json")
