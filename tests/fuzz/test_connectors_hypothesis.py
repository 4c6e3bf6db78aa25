"""Hypothesis on the connectors and the classifier, without the service.

- connectors.alertmanager.parse, connectors.zabbix.parse and connectors.findings.parse, given any JSON value
  (biased towards their own field names) or a real captured payload mutated (fields dropped, replaced,
  retyped, huge, unicode, NUL, deep nesting, lists past their limits), either return alerts or raise
  PayloadError; any other exception is a bug.
- Classifier.classify on arbitrary Alert objects never raises and always answers kind incident or fault
  with a rule and a reason; it answers the same when asked again (its cache)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier import Classifier, ClassifierSettings, UnknownCustomer, load_pack
from connectors import alertmanager, findings, zabbix
from connectors.alert import Alert, AlertStatus, PayloadError, Update
from tests.conftest import load_settings
from tests.fuzz.budget import TRIED, fuzz_settings
from tests.fuzz.strategies import FINDINGS, captured, json_values, mutated, nasty_text, nested

pytestmark = pytest.mark.fuzz

Parser = Callable[[Any], list[Alert]]
PARSERS: dict[str, Parser] = {
    "alertmanager": alertmanager.parse,
    "zabbix": zabbix.parse,
    "findings": findings.parse,
}
FIELDS = {
    "alertmanager": [
        *alertmanager.AMWebhook.model_fields,
        *alertmanager.AMAlert.model_fields,
        "alertname",
        "customer",
        "service",
        "instance",
        "host",
        "severity",
        "summary",
        "description",
    ],
    "zabbix": [*zabbix.ZabbixWebhook.model_fields, "event_incident_tag", "tag", "value"],
    "findings": list(findings.Finding.model_fields),
}
BODIES = {
    "alertmanager": captured("alertmanager"),
    "zabbix": captured("zabbix"),
    "findings": FINDINGS,
}


def parse_or_payload_error(source: str, data: Any) -> list[Alert] | None:
    """The alerts `data` makes, or None for a PayloadError; anything else raised fails the test."""
    try:
        out = PARSERS[source](data)
    except PayloadError as exc:
        assert isinstance(exc.message, str) and exc.message, "a PayloadError says what is wrong"
        assert exc.to_dict()["error"] == "invalid_payload"
        return None
    assert isinstance(out, list) and out, f"{source}.parse accepted the body but made no alert"
    for a in out:
        assert isinstance(a, Alert)
        assert a.source in ("alertmanager", "zabbix", "engineer")
        assert isinstance(a.identity, str) and a.identity
        assert isinstance(a.group, str) and a.group
        assert isinstance(a.status, AlertStatus)
        assert isinstance(a.title, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in a.labels.items())
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in a.tags.items())
        for when in (a.starts_at, a.ends_at):
            assert when is None or isinstance(when, datetime)
    return out


@pytest.fixture(scope="module")
def classifiers() -> list[Classifier]:
    """The example config's customers with the shipped pack, under each default_kind."""
    settings = load_settings("sqlite:///unused.db")
    return [
        Classifier(settings.customers, load_pack(), ClassifierSettings(default_kind=kind))
        for kind in ("by-severity", "incident", "fault")
    ]


def classify_all(classifiers: list[Classifier], alerts: list[Alert]) -> None:
    for c in classifiers:
        for a in alerts:
            verdict = c.classify(a)
            assert verdict.kind in ("incident", "fault"), verdict
            assert isinstance(verdict.rule, str) and verdict.rule.strip(), verdict
            assert isinstance(verdict.reason, str) and verdict.reason.strip(), verdict
            assert verdict.priority in ("critical", "high", "medium", "low"), verdict
            assert c.classify(a) == verdict, "the same alert classified twice answers the same"
            try:
                c.bind(a, strict=True)
            except UnknownCustomer as exc:
                assert exc.customer == (a.labels.get("customer") or a.tags.get("customer"))


# -- connectors: arbitrary JSON ------------------------------------------------------------------------------
@pytest.mark.parametrize("source", sorted(PARSERS))
@fuzz_settings(300)
@given(data=st.data())
def test_connector_takes_any_json(source: str, data: st.DataObject, classifiers: list[Classifier]) -> None:
    value = data.draw(json_values(st.sampled_from(FIELDS[source]), max_leaves=40), label="body")
    TRIED[f"connector {source}: any JSON"] += 1
    alerts = parse_or_payload_error(source, value)
    if alerts:
        classify_all(classifiers, alerts)


@pytest.mark.parametrize("source", sorted(PARSERS))
@fuzz_settings(300)
@given(data=st.data())
def test_connector_takes_mutated_captured_payloads(
    source: str, data: st.DataObject, classifiers: list[Classifier]
) -> None:
    body = data.draw(mutated(BODIES[source], st.sampled_from(FIELDS[source])), label="body")
    TRIED[f"connector {source}: mutated capture"] += 1
    alerts = parse_or_payload_error(source, body)
    if alerts:
        classify_all(classifiers, alerts)


@pytest.mark.parametrize("source", sorted(PARSERS))
def test_connector_captured_payloads_parse(source: str, classifiers: list[Classifier]) -> None:
    """The unmutated payloads are the baseline the mutations start from: they must parse."""
    for body in BODIES[source]:
        alerts = parse_or_payload_error(source, body)
        assert alerts, body
        classify_all(classifiers, alerts)


@pytest.mark.parametrize("source", sorted(PARSERS))
@pytest.mark.parametrize("levels", [50, 2_000, 50_000])
def test_connector_deep_nesting_anywhere(source: str, levels: int) -> None:
    """Deep nesting in each top-level field (as Python values: the connectors are handed decoded JSON)."""
    deep = [nested("x", levels, as_dict) for as_dict in (False, True)]  # made once, shared by every body
    for body in BODIES[source]:
        for key in [*body, "unknown_field"]:
            for value in deep:
                parse_or_payload_error(source, {**body, key: value})
        parse_or_payload_error(source, nested(body, levels, False))


# -- the classifier on arbitrary alerts -----------------------------------------------------------------------
HOSTS = ["web01.acme", "web02.acme", "acme-db01", "sw-core.acme", "mx1.globex.example", "nas-3.globex.example"]
WORDS = [
    "RAID degraded",
    "RAID array failed",
    "disk sda failed",
    "disk sdb failed",
    "Host down",
    "HostDown",
    "Unavailable by ICMP ping",
    "PSU failure",
    "SMART warning",
    "certificate expires",
    "certificate expired",
    "HTTP 5xx",
    "Site answers 502",
    "Filesystem almost full",
    "Backup failed",
    "Нет связи",
    "Диск заполнен",
    "KubePodCrashLooping",
    "NoMajorityOfNodesReady",
]
text = st.sampled_from(WORDS) | st.sampled_from(HOSTS) | nasty_text | st.text(max_size=200)
label_keys = st.sampled_from(["customer", "service", "alertname", "instance", "host", "severity", "job"]) | text
label_values = st.sampled_from(["acme", "globex", "Acme Ltd", "unknown-co", "website", "fileserver", "mail", "nas"])
small_dicts = st.dictionaries(label_keys, label_values | text, max_size=6)
extras = st.fixed_dictionaries(
    {},
    optional={
        "nseverity": st.sampled_from(["", "0", "3", "4", "5"]) | text,
        "service_affecting": st.none() | st.booleans(),
        "engineer": text,
        "trigger_id": text,
        "receiver": text,
    },
) | st.dictionaries(text, json_values(max_leaves=5), max_size=3)
times = st.none() | st.datetimes(timezones=st.none() | st.just(UTC))
alerts = st.builds(
    Alert,
    source=st.sampled_from(["alertmanager", "zabbix", "engineer"]) | text,
    identity=text,
    group=text,
    status=st.sampled_from(list(AlertStatus)),
    name=text,
    title=text,
    description=text,
    severity=st.sampled_from(["critical", "warning", "High", "Disaster", "info", "5", ""]) | text,
    host=st.sampled_from(HOSTS) | text,
    labels=small_dicts,
    annotations=small_dicts,
    tags=small_dicts,
    host_groups=st.lists(st.sampled_from(["Customers/Acme", "Customers/Globex"]) | text, max_size=3).map(tuple),
    item_key=text,
    item_name=text,
    expression=text,
    opdata=text,
    starts_at=times,
    ends_at=times,
    source_seq=st.none() | st.integers(min_value=-(2**64), max_value=2**64),
    url=text,
    update=st.none() | st.builds(Update, action=text, message=text, user=text, closes=st.booleans()),
    extra=extras,
)


@fuzz_settings(400)
@given(alert=alerts)
def test_classifier_never_raises(alert: Alert, classifiers: list[Classifier]) -> None:
    TRIED["classifier: arbitrary alert"] += 1
    classify_all(classifiers, [alert])
