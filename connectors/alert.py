"""The one shape every source's alert is normalised to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z])(?=[1-5]xx)|[_\-]+")


def words(name: str) -> str:
    """An alert name split into words: 'KubePodCrashLooping' -> 'Kube Pod Crash Looping'."""
    if not name:
        return ""
    if " " in name:  # a sentence: split only its camelCase words ('No MajorityOfNodesReady')
        tokens = name.split()
        split = " ".join(
            " ".join(w for w in _CAMEL.split(t) if w) if re.search(r"[a-z][A-Z]", t) else t for t in tokens
        )
        return split if split != " ".join(tokens) else ""
    split = " ".join(w for w in _CAMEL.split(name) if w)
    return split if split != name else ""


_COMMENT_LINE = re.compile(r"^[ \t]*#[^\n]*(?:\n|$)", re.MULTILINE)


def uncommented(expression: str) -> str:
    """A PromQL expression without its whole-line `#` comments: what the query says, not notes about it."""
    return _COMMENT_LINE.sub("", expression).strip() if "#" in expression else expression


def bounded(value: str, limit: int = 128) -> str:
    """`value` if it fits in `limit` characters, else a stable digest of it (for identities and keys)."""
    if len(value) <= limit:
        return value
    import hashlib

    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def strip_nul(node: Any) -> Any:
    """The same JSON value without NUL characters (no database text column can hold them)."""
    if isinstance(node, str):
        return node.replace("\x00", "")
    if isinstance(node, dict):
        return {strip_nul(k): strip_nul(v) for k, v in node.items()}
    if isinstance(node, list):
        return [strip_nul(v) for v in node]
    return node


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    UPDATE = "update"  # a comment/acknowledgement on an existing alert, not a state change


class PayloadError(ValueError):
    """A payload that cannot be turned into alerts; `where` names the offending field."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def to_dict(self) -> dict[str, str]:
        out = {"error": "invalid_payload", "message": self.message}
        if self.where:
            out["field"] = self.where
        return out


@dataclass(frozen=True, slots=True)
class Update:
    """What a person or system did to an alert at its source (Zabbix acknowledge, comment, close)."""

    action: str
    message: str
    user: str
    closes: bool = False


@dataclass(frozen=True, slots=True)
class Alert:
    """A source-independent alert.

    `identity` names the alert at its source (Alertmanager fingerprint, Zabbix event id);
    `group` is what stays the same when the same problem comes back (Alertmanager fingerprint,
    Zabbix trigger id), so a relapse can find the incident it belongs to.
    """

    source: str
    identity: str
    group: str
    status: AlertStatus
    name: str
    title: str
    description: str = ""
    severity: str = ""
    host: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    host_groups: tuple[str, ...] = ()
    item_key: str = ""
    item_name: str = ""
    expression: str = ""
    opdata: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source_seq: int | None = None  # a monotonic number from the source (Zabbix event/recovery id)
    url: str = ""
    update: Update | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> str:
        """What the alert is about: name (also split into words), summary, item and expression, without the
        long description."""
        parts = [
            self.name,
            words(self.name),
            self.title,
            self.item_name,
            self.item_key,
            self.opdata,
            uncommented(self.expression),
        ]
        return "\n".join(p for p in parts if p)

    def text(self) -> str:
        """Everything a person would read about this alert, for rules that match on meaning."""
        parts = [
            self.name,
            words(self.name),
            self.title,
            self.description,
            self.item_name,
            self.item_key,
            self.opdata,
            uncommented(self.expression),
            *self.annotations.values(),
        ]
        return "\n".join(p for p in parts if p)
