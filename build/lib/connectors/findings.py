"""An engineer's proactive finding (POST /api/v1/findings) to an `Alert`."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from connectors.alert import Alert, AlertStatus, bounded
from connectors.validation import parse_model

SOURCE = "engineer"

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=65536)]


class Finding(BaseModel):
    """What an engineer found: where, what, and whether it hits the customer's service."""

    model_config = ConfigDict(extra="forbid")

    customer: Short
    title: Short
    engineer: Short
    description: Long = ""
    service: Short | None = None
    host: Short | None = None
    service_affecting: bool | None = None
    status: Literal["open", "resolved"] = "open"
    key: Short | None = None

    @model_validator(mode="after")
    def _where(self) -> Finding:
        if not self.service and not self.host:
            raise ValueError("a finding names a service or a host (or both)")
        return self


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def identity_of(f: Finding) -> str:
    """The same finding logged twice (same place, same title) is one alert; `key` overrides."""
    if f.key:
        return bounded("key:" + f.key)
    canon = "\x1f".join([_norm(f.customer), _norm(f.service or ""), _norm(f.host or ""), _norm(f.title)])
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def parse(data: Any, now: datetime | None = None) -> list[Alert]:
    f = parse_model(Finding, data)
    ident = identity_of(f)
    labels = {"customer": f.customer}
    if f.service:
        labels["service"] = f.service
    if f.host:
        labels["host"] = f.host
    return [
        Alert(
            source=SOURCE,
            identity=ident,
            group=ident,
            status=AlertStatus.RESOLVED if f.status == "resolved" else AlertStatus.FIRING,
            name="Finding",
            title=f.title,
            description=f.description,
            host=f.host or "",
            labels=labels,
            starts_at=now or datetime.now(UTC),
            extra={"engineer": f.engineer, "service_affecting": f.service_affecting},
        )
    ]
