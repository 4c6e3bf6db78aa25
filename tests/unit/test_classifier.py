"""classifier: rule pack loading and mechanics, fixture verdicts, engineer judgement, fallbacks, priority."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from classifier import (
    Binding,
    Classification,
    Classifier,
    ClassifierSettings,
    Customer,
    Rule,
    RulePack,
    Service,
    UnknownCustomer,
    load_pack,
)
from classifier.decide import DEFAULT_MATRIX, SEVERE
from classifier.rules import FIELDS, first_match
from connectors import alertmanager, findings, zabbix
from connectors.alert import Alert, AlertStatus
from tests.unit.util import AM_FIXTURES, ZBX_FIXTURES, am_alert, am_fixture, customers, zbx_alert, zbx_fixture

PACK = load_pack()


def classifier(**settings: Any) -> Classifier:
    return Classifier(customers(), PACK, ClassifierSettings(**settings))


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "source": "alertmanager",
        "identity": "f1",
        "group": "f1",
        "status": AlertStatus.FIRING,
        "name": "CustomCheck",
        "title": "Custom business metric out of range",
    }
    base.update(kw)
    return Alert(**base)


# --- the pack ---------------------------------------------------------------------------------------


def test_default_pack_loads_and_compiles() -> None:
    assert PACK.name == "default"
    assert len(PACK.rules) >= 20
    ids = [r.id for r in PACK.rules]
    assert len(ids) == len(set(ids))
    for r in PACK.rules:
        when, unless = r._compiled  # every pattern compiles
        assert len(when) == len(r.when)
        assert len(unless) == len(r.unless)
        assert r.kind in ("incident", "fault")
        assert r.reason


def test_default_pack_has_both_kinds_and_the_documented_rules() -> None:
    ids = {r.id for r in PACK.rules}
    assert {"redundancy-lost", "raid-degraded", "capacity", "endpoint-down", "errors-now"} <= ids
    kinds = {r.kind for r in PACK.rules}
    assert kinds == {"incident", "fault"}


def test_default_pack_from_file_is_the_same(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    assert load_pack(root / "classifier" / "rules" / "default.yaml") == PACK


def test_custom_pack_file(tmp_path: Path) -> None:
    p = tmp_path / "pack.yaml"
    p.write_text(
        "name: site\nrules:\n  - id: printer\n    kind: fault\n    reason: printers\n    when:\n      text: toner\n",
        encoding="utf-8",
    )
    pack = load_pack(p)
    assert pack.name == "site"
    assert pack.rules[0].when == {"text": ["toner"]}  # a single pattern becomes a list


@pytest.mark.parametrize(
    "rule",
    [
        {"id": "x", "kind": "incident", "reason": "r", "when": {"bogus": ["a"]}},
        {"id": "x", "kind": "incident", "reason": "r", "when": {"text": ["("]}},
        {"id": "x", "kind": "incident", "reason": "r", "when": {"text": ["a"]}, "unless": {"text": "[z"}},
        {"id": "x", "kind": "incident", "reason": "r", "when": {}},
        {"id": "x", "kind": "outage", "reason": "r", "when": {"text": ["a"]}},
        {"id": "Bad Id", "kind": "fault", "reason": "r", "when": {"text": ["a"]}},
        {"id": "x", "kind": "fault", "reason": "r", "when": {"text": ["a"]}, "impact": "huge"},
        {"id": "x", "kind": "fault", "reason": "r", "when": {"text": ["a"]}, "extra": 1},
        {"id": "x", "kind": "fault", "when": {"text": ["a"]}},
    ],
)
def test_bad_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate(rule)


def test_bad_regex_error_names_field_and_pattern() -> None:
    with pytest.raises(ValidationError) as err:
        Rule.model_validate({"id": "x", "kind": "fault", "reason": "r", "when": {"title": ["(unclosed"]}})
    assert "title" in str(err.value) and "(unclosed" in str(err.value)


def test_unknown_field_error_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as err:
        Rule.model_validate({"id": "x", "kind": "fault", "reason": "r", "when": {"summary": ["a"]}})
    assert "summary" in str(err.value) and "label.X" in str(err.value)


def test_pack_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        RulePack.model_validate({"name": "x", "rules": [], "version": 2})


# --- rule mechanics -------------------------------------------------------------------------------------


def rule(**kw: Any) -> Rule:
    base: dict[str, Any] = {"id": "r", "kind": "fault", "reason": "because"}
    base.update(kw)
    return Rule.model_validate(base)


def test_rule_all_when_fields_must_match() -> None:
    r = rule(when={"name": "HostDown", "severity": "critical|page"})
    assert r.matches(alert(name="HostDown", severity="critical")) == "HostDown"
    assert r.matches(alert(name="HostDown", severity="warning")) is None
    assert r.matches(alert(name="hostdown", severity="PAGE")) == "hostdown"  # case-insensitive


def test_rule_unless_vetoes() -> None:
    r = rule(when={"title": "certificate"}, unless={"title": ["expired", "revoked"]})
    assert r.matches(alert(title="certificate expires in 5 days")) == "certificate"
    assert r.matches(alert(title="certificate EXPIRED")) is None


def test_rule_sources() -> None:
    r = rule(sources=["zabbix"], when={"text": "disk"})
    assert r.matches(alert(title="disk", source="zabbix")) == "disk"
    assert r.matches(alert(title="disk", source="alertmanager")) is None


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("label.team", {"labels": {"team": "storage"}}),
        ("tag.team", {"tags": {"team": "storage"}}),
        ("annotation.team", {"annotations": {"team": "storage"}}),
        ("host", {"host": "storage-01"}),
        ("item_key", {"item_key": "storage.status"}),
        ("item_name", {"item_name": "storage status"}),
        ("expression", {"expression": "storage_up == 0"}),
        ("opdata", {"opdata": "storage=1"}),
        ("description", {"description": "the storage"}),
        ("source", {"source": "storage"}),
    ],
)
def test_rule_fields(field: str, kw: dict[str, Any]) -> None:
    r = rule(when={field: "storage"})
    assert r.matches(alert(**kw)) is not None
    assert r.matches(alert()) is None


def test_fields_constant_lists_what_alerts_carry() -> None:
    a = alert()
    for f in FIELDS:
        assert f == "text" or hasattr(a, f)


def test_headline_and_full_text() -> None:
    a = alert(title="Host is down", description="it has a spare disk", annotations={"runbook": "replace the fan"})
    r = rule(when={"text": "fan"})
    assert r.matches(a, full=False) is None  # the headline carries no annotations
    assert r.matches(a, full=True) == "fan"
    assert rule(when={"text": "spare disk"}).matches(a, full=False) is None


def test_first_match_prefers_a_headline_match_over_an_earlier_full_text_match() -> None:
    early = rule(id="early", when={"text": "spare disk"})
    late = rule(id="late", kind="incident", when={"text": "is down"})
    a = alert(title="Host is down", description="it has a spare disk")
    v = first_match([early, late], a)
    assert v is not None and v.rule.id == "late" and v.matched == "is down"
    b = alert(title="Host trouble", description="it has a spare disk")
    v = first_match([early, late], b)
    assert v is not None and v.rule.id == "early"
    assert first_match([early, late], alert()) is None


def test_alert_text_and_headline() -> None:
    a = alert(
        title="T",
        description="D",
        item_name="IN",
        item_key="IK",
        opdata="OP",
        expression="EX",
        annotations={"runbook_url": "RB"},
    )
    assert a.headline() == "CustomCheck\nCustom Check\nT\nIN\nIK\nOP\nEX"
    assert a.text() == "CustomCheck\nCustom Check\nT\nD\nIN\nIK\nOP\nEX\nRB"


# --- fixtures ----------------------------------------------------------------------------------------------

AM_VERDICTS = {
    "firing.json": ("incident", "endpoint-down", "acme", "website"),
    "resolved.json": ("incident", "endpoint-down", "acme", "website"),
    "raid_degraded.json": ("fault", "raid-degraded", "acme", "fileserver"),
    "raid_resolved.json": ("fault", "raid-degraded", "acme", "fileserver"),
    "repeat_firing.json": ("fault", "raid-degraded", "acme", "fileserver"),
    "grouped_firing.json": ("fault", "capacity", "globex", "nas"),
    "grouped_resolved.json": ("fault", "capacity", "globex", "nas"),
    "mixed_group.json": ("fault", "capacity", "globex", "nas"),
    "from_prometheus_firing.json": ("fault", "default-not-severe", "acme", None),
    "from_prometheus_resolved.json": ("fault", "default-not-severe", "acme", None),
    "truncated_max_alerts.json": ("fault", "default-not-severe", None, None),
}


def test_every_am_fixture_has_a_verdict() -> None:
    assert sorted(AM_VERDICTS) == AM_FIXTURES


@pytest.mark.parametrize("name", AM_FIXTURES)
def test_am_fixture_classification(name: str) -> None:
    c = Classifier(customers(), PACK)
    for a in alertmanager.parse(am_fixture(name)):
        v = c.classify(a)
        assert (v.kind, v.rule, v.customer, v.service) == AM_VERDICTS[name], v.reason


def test_host_down_is_a_critical_incident() -> None:
    [a] = alertmanager.parse(am_fixture("firing.json"))
    v = Classifier(customers(), PACK).classify(a)
    assert v.kind == "incident"
    assert (v.impact, v.urgency, v.priority) == ("high", "high", "critical")
    assert "matched 'Host Down'" in v.reason
    assert "rule endpoint-down matched 'Host Down'" in v.trace
    assert v.trace[-1] == "priority critical = impact high x urgency high"
    assert v.trace[0].startswith("bound: customer named by the alert (acme)")


def test_raid_degraded_is_a_low_fault() -> None:
    [a] = alertmanager.parse(am_fixture("raid_degraded.json"))
    v = Classifier(customers(), PACK).classify(a)
    assert (v.kind, v.priority) == ("fault", "low")


@pytest.mark.parametrize("name", ZBX_FIXTURES)
def test_zabbix_raid_degraded_is_a_fault(name: str) -> None:
    [a] = zabbix.parse(zbx_fixture(name))
    v = Classifier(customers(), PACK).classify(a)
    assert (v.kind, v.rule, v.customer, v.service) == ("fault", "raid-degraded", "acme", "fileserver")
    assert a.severity == "High"  # meaning decides, not severity


def test_classify_binds_leniently_and_accepts_a_given_binding() -> None:
    c = Classifier(customers(), PACK)
    a = am_alert("HostDown", "Host x is down", customer="initech")
    assert c.classify(a).customer is None
    with pytest.raises(UnknownCustomer):
        c.bind(a)
    assert c.bind(a, strict=False).customer is None
    acme = customers()[0]
    v = c.classify(a, Binding(acme, acme.services[0], "given"))
    assert (v.customer, v.service, v.binding) == ("acme", "website", "given")


def test_as_dict() -> None:
    [a] = alertmanager.parse(am_fixture("firing.json"))
    d = Classifier(customers(), PACK).classify(a).as_dict()
    assert set(d) == {"kind", "customer", "service", "impact", "urgency", "priority", "rule", "reason", "binding"}
    assert d["kind"] == "incident" and d["customer"] == "acme"


# --- engineer judgement -----------------------------------------------------------------------------------------


def finding(**kw: Any) -> Alert:
    data = {"customer": "acme", "engineer": "Ivan", "service": "website", **kw}
    [a] = findings.parse(data)
    return a


def test_engineer_judges_service_affecting_over_rules() -> None:
    v = classifier().classify(finding(title="Disk almost full on web01", service_affecting=True))
    assert (v.kind, v.rule, v.impact, v.urgency, v.priority) == (
        "incident",
        "engineer-judgement",
        "medium",
        "high",
        "high",
    )
    assert (v.customer, v.service) == ("acme", "website")
    assert "service-affecting" in v.reason


def test_engineer_judges_not_service_affecting_over_rules() -> None:
    v = classifier().classify(finding(title="Website is down", service_affecting=False))
    assert (v.kind, v.rule, v.priority) == ("fault", "engineer-judgement", "low")
    assert "not service-affecting" in v.reason


def test_engineer_without_judgement_goes_through_rules() -> None:
    assert classifier().classify(finding(title="Website is down")).rule == "endpoint-down"
    v = classifier(default_kind="fault").classify(finding(title="Something odd with the invoices"))
    assert (v.kind, v.rule) == ("fault", "default-fault")


def test_judgement_only_counts_for_engineer_findings() -> None:
    a = alert(title="Website is down", extra={"service_affecting": False})
    assert classifier().classify(a).kind == "incident"


# --- where no rule speaks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "kind", "rule", "priority"),
    [
        ("critical", "incident", "default-severe", "high"),
        ("Disaster", "incident", "default-severe", "high"),
        ("High", "incident", "default-severe", "high"),
        ("page", "incident", "default-severe", "high"),
        (" CRITICAL ", "incident", "default-severe", "high"),
        ("warning", "fault", "default-not-severe", "low"),
        ("Average", "fault", "default-not-severe", "low"),
        ("info", "fault", "default-not-severe", "low"),
        ("", "fault", "default-not-severe", "low"),
    ],
)
def test_by_severity(severity: str, kind: str, rule: str, priority: str) -> None:
    v = classifier().classify(alert(severity=severity))
    assert (v.kind, v.rule, v.priority) == (kind, rule, priority)
    assert "by-severity" in v.reason
    assert "no rule matched" in v.trace


def test_by_severity_uses_zabbix_numeric_severity_when_the_name_is_missing() -> None:
    severe = zbx_alert("Custom business metric out of range", severity="{EVENT.SEVERITY}", event_nseverity="5")
    assert severe.severity == ""
    assert classifier().classify(severe).kind == "incident"
    mild = zbx_alert("Custom business metric out of range", severity="{EVENT.SEVERITY}", event_nseverity="2")
    assert classifier().classify(mild).kind == "fault"


def test_severe_set() -> None:
    assert {"critical", "disaster", "high", "5", "4"} <= SEVERE
    assert not {"warning", "average", "info", "3"} & SEVERE


def test_default_incident() -> None:
    v = classifier(default_kind="incident").classify(alert(severity="info"))
    assert (v.kind, v.rule, v.impact, v.urgency, v.priority) == (
        "incident",
        "default-incident",
        "medium",
        "medium",
        "medium",
    )
    assert "alertbridge's setting: incident" in v.reason


def test_default_fault() -> None:
    v = classifier(default_kind="fault").classify(alert(severity="critical"))
    assert (v.kind, v.rule, v.priority) == ("fault", "default-fault", "low")


def _tenants(customer_kind: Any, service_kind: Any) -> list[Customer]:
    return [
        Customer(
            id="acme",
            name="Acme",
            default_kind=customer_kind,
            services=[
                Service(id="web", name="Web", default_kind=service_kind),
                Service(id="lab", name="Lab"),
            ],
        )
    ]


@pytest.mark.parametrize(
    ("setting", "customer_kind", "service_kind", "service", "expected", "where"),
    [
        ("fault", "incident", None, "lab", "default-incident", "customer acme's default"),
        ("fault", "incident", None, None, "default-incident", "customer acme's default"),
        ("incident", "fault", None, "lab", "default-fault", "customer acme's default"),
        ("fault", "fault", "incident", "web", "default-incident", "service web's default"),
        ("incident", "incident", "fault", "web", "default-fault", "service web's default"),
        ("by-severity", None, "incident", "web", "default-incident", "service web's default"),
        ("incident", None, None, "web", "default-incident", "alertbridge's setting"),
        ("by-severity", None, None, "web", "default-not-severe", "alertbridge's setting"),
    ],
)
def test_per_customer_and_per_service_default_kind(
    setting: str, customer_kind: str | None, service_kind: str | None, service: str | None, expected: str, where: str
) -> None:
    c = Classifier(_tenants(customer_kind, service_kind), PACK, ClassifierSettings(default_kind=setting))  # type: ignore[arg-type]
    labels = {"customer": "acme", **({"service": service} if service else {})}
    v = c.classify(alert(labels=labels, severity="warning"))
    assert v.rule == expected
    assert where in v.reason


def test_rules_win_over_default_kind() -> None:
    c = Classifier(_tenants("fault", "fault"), PACK, ClassifierSettings(default_kind="fault"))
    v = c.classify(alert(title="Web site is down", labels={"customer": "acme", "service": "web"}))
    assert (v.kind, v.rule) == ("incident", "endpoint-down")


# --- site rules and priority -----------------------------------------------------------------------------------------


def test_site_rules_are_tried_before_the_pack() -> None:
    site = Rule(
        id="acme-raid-is-incident",
        kind="incident",
        reason="Acme has no spare disks",
        impact="high",
        urgency="medium",
        when={"name": ["MdRaidDegraded"], "label.customer": ["acme"]},
    )
    c = Classifier(customers(), PACK, ClassifierSettings(rules=[site]))
    [a] = alertmanager.parse(am_fixture("raid_degraded.json"))
    v = c.classify(a)
    assert (v.kind, v.rule, v.priority) == ("incident", "acme-raid-is-incident", "high")
    assert c.rules[0] is site and len(c.rules) == len(PACK.rules) + 1
    [b] = alertmanager.parse(am_fixture("grouped_firing.json"))[:1]
    assert c.classify(b).rule == "capacity"  # globex: the site rule does not match


def test_default_matrix() -> None:
    assert DEFAULT_MATRIX == {
        "high": {"high": "critical", "medium": "high", "low": "medium"},
        "medium": {"high": "high", "medium": "medium", "low": "low"},
        "low": {"high": "medium", "medium": "low", "low": "low"},
    }


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "critical"),
        ("high", "medium", "high"),
        ("high", "low", "medium"),
        ("medium", "high", "high"),
        ("medium", "medium", "medium"),
        ("medium", "low", "low"),
        ("low", "high", "medium"),
        ("low", "medium", "low"),
        ("low", "low", "low"),
    ],
)
def test_priority_from_rule_impact_and_urgency(impact: str, urgency: str, priority: str) -> None:
    r = Rule(id="x", kind="incident", reason="r", impact=impact, urgency=urgency, when={"name": ["CustomCheck"]})  # type: ignore[arg-type]
    v = Classifier([], RulePack(rules=[r])).classify(alert())
    assert (v.impact, v.urgency, v.priority) == (impact, urgency, priority)


@pytest.mark.parametrize(
    ("make", "priority"),
    [
        (lambda: am_alert("HostDown", "Host x is down"), "critical"),  # endpoint-down high/high
        (lambda: am_alert("Api5xx", "HTTP 5xx errors on the API"), "high"),  # errors-now medium/high
        (lambda: am_alert("ApiSlow", "API latency above 2s"), "medium"),  # latency-breach medium/medium
        (lambda: am_alert("RaidDegraded", "RAID array md0 degraded"), "low"),  # raid-degraded low/medium
        (lambda: am_alert("HighCpu", "High CPU on x"), "low"),  # saturation low/low
    ],
)
def test_priority_of_pack_rules(make: Any, priority: str) -> None:
    assert classifier().classify(make()).priority == priority


def test_custom_matrix() -> None:
    matrix = {lvl: {u: "low" for u in ("high", "medium", "low")} for lvl in ("high", "medium", "low")}
    matrix["high"]["high"] = "high"
    c = classifier(matrix=matrix)
    assert c.classify(am_alert("HostDown", "Host x is down")).priority == "high"
    assert c.classify(am_alert("Api5xx", "HTTP 5xx errors on the API")).priority == "low"


def test_settings_refuse_unknown_keys_and_kinds() -> None:
    with pytest.raises(ValidationError):
        ClassifierSettings.model_validate({"default_kind": "panic"})
    with pytest.raises(ValidationError):
        ClassifierSettings.model_validate({"defaultkind": "fault"})


def test_classification_is_a_value() -> None:
    [a] = alertmanager.parse(am_fixture("firing.json"))
    v1 = classifier().classify(a)
    v2 = classifier().classify(a)
    assert isinstance(v1, Classification)
    assert v1 == v2


def test_a_repeated_alert_is_judged_once_and_the_same_way() -> None:
    c = classifier()
    a = alert(name="HostDown", title="Host db01 is down")
    first = c.classify(a)
    again = c.classify(alert(name="HostDown", title="Host db01 is down"))
    assert again is first  # kept, not matched again
    # anything the verdict depends on changes it: the text, or where the alert is bound
    other = c.classify(alert(name="HostDown", title="Disk of db01 is 91 % full"))
    assert other is not first and other.rule != first.rule
    unbound = c.classify(a, Binding(None, None, "nothing matched"))
    assert unbound is not first and unbound.customer is None


def test_the_verdict_cache_is_bounded() -> None:
    c = classifier()
    c.cache_size = 5
    for n in range(20):
        c.classify(alert(name="HostDown", title=f"Host h{n} is down"))
    assert len(c._cache) == 5


def test_an_engineers_judgement_is_never_taken_from_the_cache() -> None:
    c = classifier()
    base = dict(source="engineer", name="Finding", title="Mail relay slow")
    yes = c.classify(alert(**base, extra={"service_affecting": True}))
    no = c.classify(alert(**base, extra={"service_affecting": False}))
    assert (yes.kind, no.kind) == ("incident", "fault")
