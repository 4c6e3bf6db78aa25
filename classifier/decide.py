"""Classify one alert: incident or silent fault, customer and service, priority, and why."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from classifier.binding import Binding, bind
from classifier.inventory import Customer
from classifier.rules import Level, Rule, RulePack, first_match
from connectors.alert import Alert

Priority = Literal["critical", "high", "medium", "low"]
DefaultKind = Literal["incident", "fault", "by-severity"]

# ITIL-style impact x urgency matrix: rows impact, columns urgency.
DEFAULT_MATRIX: dict[Level, dict[Level, Priority]] = {
    "high": {"high": "critical", "medium": "high", "low": "medium"},
    "medium": {"high": "high", "medium": "medium", "low": "low"},
    "low": {"high": "medium", "medium": "low", "low": "low"},
}
SEVERE = {"critical", "disaster", "high", "page", "emergency", "alert", "5", "4"}


class ClassifierSettings(BaseModel):
    """How the classifier behaves where rules are silent, and the priority matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_kind: DefaultKind = "by-severity"
    matrix: dict[Level, dict[Level, Priority]] = Field(default_factory=lambda: dict(DEFAULT_MATRIX))
    rules: list[Rule] = Field(default_factory=list)  # site rules, tried before the pack's


@dataclass(frozen=True, slots=True)
class Classification:
    kind: Literal["incident", "fault"]
    customer: str | None
    service: str | None
    impact: Level
    urgency: Level
    priority: Priority
    rule: str
    reason: str
    binding: str
    trace: tuple[str, ...] = field(default_factory=tuple)
    member: MemberOf | None = None  # the alert reports one member of a redundant set down

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "customer": self.customer,
            "service": self.service,
            "impact": self.impact,
            "urgency": self.urgency,
            "priority": self.priority,
            "rule": self.rule,
            "reason": self.reason,
            "binding": self.binding,
        }


@dataclass(frozen=True, slots=True)
class MemberOf:
    """The alert says one member of a service's redundancy group is down."""

    service: str
    group: str
    member: str
    size: int
    tolerate: int

    @property
    def group_key(self) -> str:
        return f"{self.service}/{self.group}"


LEVELS: tuple[Level, ...] = ("low", "medium", "high")


def _content_key(alert: Alert, b: Binding) -> tuple[Any, ...] | None:
    """Everything a verdict depends on (None: not cacheable, e.g. an engineer's own judgement)."""
    if alert.extra and alert.source == "engineer":
        return None
    return (
        b.customer.id if b.customer else None,
        b.service.id if b.service else None,
        b.how,
        alert.source,
        alert.name,
        alert.title,
        alert.description,
        alert.severity,
        alert.host,
        alert.item_key,
        alert.item_name,
        alert.expression,
        alert.opdata,
        alert.host_groups,
        tuple(alert.labels.items()),
        tuple(alert.annotations.items()),
        tuple(alert.tags.items()),
        str(alert.extra.get("nseverity", "")),
    )


def _raise(level: Level, steps: int) -> Level:
    return LEVELS[min(len(LEVELS) - 1, LEVELS.index(level) + steps)]


class Classifier:
    """Pure: holds the inventory, the rules and the settings; `classify` does no I/O."""

    def __init__(
        self,
        customers: list[Customer] | tuple[Customer, ...],
        pack: RulePack,
        settings: ClassifierSettings | None = None,
    ) -> None:
        self.customers = tuple(customers)
        self.settings = settings or ClassifierSettings()
        self.rules = tuple(self.settings.rules) + tuple(pack.rules)
        own = [r for c in self.customers for r in (*c.rules, *(r for s in c.services for r in s.rules))]
        self._member_down = {r.id for r in (*self.rules, *own) if r.member_down}
        # the same alert arrives again and again (repeats, storms): its verdict depends only on what it
        # carries and where it is bound, so it is kept (bounded) instead of matched again
        self._cache: OrderedDict[tuple[Any, ...], Classification] = OrderedDict()
        self.cache_size = 8192

    def bind(self, alert: Alert, strict: bool = True) -> Binding:
        return bind(alert, self.customers, strict)

    def classify(self, alert: Alert, binding: Binding | None = None) -> Classification:
        b = binding if binding is not None else self.bind(alert, strict=False)
        key = _content_key(alert, b)
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        verdict = self._classify(alert, b)
        if key is not None:
            self._cache[key] = verdict
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdict

    def _classify(self, alert: Alert, b: Binding) -> Classification:
        cust = b.customer
        trace = [f"bound: {b.how}"]
        judged = alert.extra.get("service_affecting") if alert.source == "engineer" else None
        if judged is not None:
            kind: Literal["incident", "fault"] = "incident" if judged else "fault"
            rule_id = "engineer-judgement"
            reason = f"the engineer judged it {'service-affecting' if judged else 'not service-affecting'}"
            impact: Level = "medium" if judged else "low"
            urgency: Level = "high" if judged else "medium"
        else:
            own = (b.service.rules if b.service else []) + (b.customer.rules if b.customer else [])
            verdict = first_match((*own, *self.rules) if own else self.rules, alert)
            if verdict is not None and verdict.rule in own:
                trace.append(
                    f"{'service' if verdict.rule in (b.service.rules if b.service else []) else 'customer'} "
                    f"rule {verdict.rule.id} overrides the pack"
                )
            if verdict is not None:
                r = verdict.rule
                kind, rule_id, impact, urgency = r.kind, r.id, r.impact, r.urgency
                reason = f"{r.reason} (matched {verdict.matched!r})"
                trace.append(f"rule {r.id} matched {verdict.matched!r}")
            else:
                kind, rule_id, reason, impact, urgency = self._fallback(alert, b)
                trace.append("no rule matched")
        member = None
        if judged is None and self.rule_marks_member_down(rule_id) and b.service is not None:
            member = self._member(alert, b)
            if member is not None:
                trace.append(
                    f"{member.member} is a member of {member.group_key} ({member.size} members, tolerates "
                    f"{member.tolerate}): one member down is a fault"
                )
                reason = (
                    f"{member.member} is down ({rule_id}); it is one of {member.size} members of "
                    f"{b.service.name} / {member.group}, which carries the service with up to "
                    f"{member.tolerate} down"
                )
                kind, rule_id, impact = "fault", f"redundancy-member:{rule_id}", "low"
        for what, owner in (("customer", cust), ("service", b.service)):
            if owner is None:
                continue
            if owner.impact and LEVELS.index(owner.impact) > LEVELS.index(impact):
                trace.append(f"{what} {owner.id} sets impact at least {owner.impact}: {impact} -> {owner.impact}")
                impact = owner.impact
            if owner.urgency_boost:
                raised = _raise(urgency, owner.urgency_boost)
                if raised != urgency:
                    trace.append(f"{what} {owner.id} raises urgency {urgency} -> {raised}")
                    urgency = raised
        priority = self.settings.matrix[impact][urgency]
        trace.append(f"priority {priority} = impact {impact} x urgency {urgency}")
        return Classification(
            kind=kind,
            customer=cust.id if cust else None,
            service=b.service.id if b.service else None,
            impact=impact,
            urgency=urgency,
            priority=priority,
            rule=rule_id,
            reason=reason,
            binding=b.how,
            trace=tuple(trace),
            member=member,
        )

    def _member(self, alert: Alert, b: Binding) -> MemberOf | None:
        assert b.service is not None
        text = alert.text()
        for group in b.service.redundancy:
            for m in group.members:
                if m.matches(alert.host, alert.labels, text):
                    return MemberOf(b.service.id, group.id, m.name, len(group.members), group.tolerate)
        return None

    def rule_marks_member_down(self, rule_id: str) -> bool:
        return rule_id in self._member_down

    def _fallback(self, alert: Alert, b: Binding) -> tuple[Literal["incident", "fault"], str, str, Level, Level]:
        choice: DefaultKind = self.settings.default_kind
        where = "alertbridge's setting"
        if b.customer and b.customer.default_kind:
            choice, where = b.customer.default_kind, f"customer {b.customer.id}'s default"
        if b.service and b.service.default_kind:
            choice, where = b.service.default_kind, f"service {b.service.id}'s default"
        if choice == "by-severity":
            sev = (alert.severity or alert.extra.get("nseverity") or "").strip().lower()
            if sev in SEVERE:
                return (
                    "incident",
                    "default-severe",
                    f"no rule recognised the alert; severity {sev!r} is severe ({where}: by-severity)",
                    "medium",
                    "high",
                )
            return (
                "fault",
                "default-not-severe",
                f"no rule recognised the alert; severity {sev or 'unset'!r} is not severe ({where}: by-severity)",
                "low",
                "low",
            )
        if choice == "incident":
            return (
                "incident",
                "default-incident",
                f"no rule recognised the alert ({where}: incident)",
                "medium",
                "medium",
            )
        return "fault", "default-fault", f"no rule recognised the alert ({where}: fault)", "low", "low"
