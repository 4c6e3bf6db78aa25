"""connectors.alertmanager: real Alertmanager 0.25 bodies and hand-made bad ones."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors import alertmanager
from connectors.alert import Alert, AlertStatus, PayloadError
from tests.unit.util import AM_FIXTURES, am_body, am_fixture, am_item, am_raw

# status of every alert in every fixture, in order
EXPECTED_STATUSES = {
    "firing.json": ["firing"],
    "from_prometheus_firing.json": ["firing"],
    "from_prometheus_resolved.json": ["resolved"],
    "grouped_firing.json": ["firing", "firing", "firing"],
    "grouped_resolved.json": ["resolved", "resolved"],
    "mixed_group.json": ["firing", "resolved", "firing"],
    "raid_degraded.json": ["firing"],
    "raid_resolved.json": ["resolved"],
    "repeat_firing.json": ["firing"],
    "resolved.json": ["resolved"],
    "truncated_max_alerts.json": ["firing", "firing"],
}


def test_every_fixture_is_listed() -> None:
    assert sorted(EXPECTED_STATUSES) == AM_FIXTURES


@pytest.mark.parametrize("name", AM_FIXTURES)
def test_every_fixture_parses(name: str) -> None:
    data = am_fixture(name)
    alerts = alertmanager.parse(data)
    assert [a.status.value for a in alerts] == EXPECTED_STATUSES[name]
    assert len(alerts) == len(data["alerts"])
    for a, raw in zip(alerts, data["alerts"], strict=True):
        assert isinstance(a, Alert)
        assert a.source == "alertmanager"
        assert a.identity == raw["fingerprint"]
        assert a.group == alertmanager.problem_id(raw["labels"])
        assert a.labels == raw["labels"]
        assert a.annotations == raw["annotations"]
        assert a.name == raw["labels"]["alertname"]
        assert a.severity == raw["labels"]["severity"]
        assert a.title == raw["annotations"]["summary"]
        assert a.description == raw["annotations"].get("description", "")
        assert a.url == raw["generatorURL"]
        assert a.starts_at is not None and a.starts_at.tzinfo is not None
        assert a.source_seq is None
        assert a.update is None


@pytest.mark.parametrize("name", AM_FIXTURES)
def test_raw_bytes_parse_the_same_as_pretty(name: str) -> None:
    raw = am_raw(name)
    from_raw = alertmanager.parse(json.loads(raw))
    from_pretty = alertmanager.parse(am_fixture(name))
    assert from_raw == from_pretty


def test_raw_bytes_carry_the_escaped_ampersand() -> None:
    raw = am_raw("firing.json")
    assert b"\\u0026g0.tab=1" in raw
    [a] = alertmanager.parse(json.loads(raw))
    assert a.expression == 'up{job="node"} == 0'
    assert a.url.endswith("&g0.tab=1")


def test_firing_alert() -> None:
    [a] = alertmanager.parse(am_fixture("firing.json"))
    assert a.status is AlertStatus.FIRING
    assert a.identity == "83724b9110f38bee"
    assert a.name == "HostDown"
    assert a.title == "Host web-01.acme.example is down"
    assert a.severity == "critical"
    assert a.host == "web-01.acme.example"
    assert a.expression == 'up{job="node"} == 0'
    assert a.starts_at == datetime(2026, 11, 23, 23, 27, 2, 778000, tzinfo=UTC)
    assert a.ends_at is None  # "0001-01-01T00:00:00Z" means "not ended"
    assert a.extra == {
        "receiver": "alertbridge",
        "groupKey": '{}:{alertname="HostDown", customer="acme", service="website"}',
        "truncatedAlerts": 0,
        "externalURL": "http://127.0.0.1:19093",
    }


def test_resolved_alert_has_its_end() -> None:
    [a] = alertmanager.parse(am_fixture("resolved.json"))
    assert a.status is AlertStatus.RESOLVED
    assert a.identity == "83724b9110f38bee"
    assert a.ends_at == datetime(2026, 11, 23, 23, 29, 32, 838000, tzinfo=UTC)
    assert a.starts_at == datetime(2026, 11, 23, 23, 27, 2, 778000, tzinfo=UTC)
    assert a.ends_at > a.starts_at


def test_firing_and_resolved_share_identity_and_group() -> None:
    [f] = alertmanager.parse(am_fixture("firing.json"))
    [r] = alertmanager.parse(am_fixture("resolved.json"))
    assert (f.identity, f.group) == (r.identity, r.group)
    [d] = alertmanager.parse(am_fixture("raid_degraded.json"))
    [rep] = alertmanager.parse(am_fixture("repeat_firing.json"))
    [rr] = alertmanager.parse(am_fixture("raid_resolved.json"))
    assert d.identity == rep.identity == rr.identity == "124648203b62614c"
    assert d != f


def test_prometheus_expression_with_escapes() -> None:
    [a] = alertmanager.parse(am_fixture("from_prometheus_firing.json"))
    assert a.expression == 'up{job="prometheus"} == 1 and on () (vector(time()) < 1.795476582e+09)'
    assert a.host == "127.0.0.1"
    [r] = alertmanager.parse(am_fixture("from_prometheus_resolved.json"))
    assert r.ends_at == datetime(2026, 11, 23, 23, 29, 42, 734000, tzinfo=UTC)


def test_grouped_firing_gives_one_alert_per_alert() -> None:
    alerts = alertmanager.parse(am_fixture("grouped_firing.json"))
    assert [a.host for a in alerts] == ["nas-01.globex.example", "nas-02.globex.example", "nas-03.globex.example"]
    assert [a.identity for a in alerts] == ["61f2b97428a14f96", "eab667914f710dc9", "f65d911ccf5af4d0"]
    assert len({a.identity for a in alerts}) == 3
    assert all(a.status is AlertStatus.FIRING and a.ends_at is None for a in alerts)
    assert (
        alerts[0].expression == 'node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes * 100 < 10'
    )
    assert alerts[1].description == "Only 4.9% of /srv/share (/dev/sdb1) is available on nas-02.globex.example."


def test_grouped_resolved() -> None:
    alerts = alertmanager.parse(am_fixture("grouped_resolved.json"))
    assert [a.identity for a in alerts] == ["61f2b97428a14f96", "f65d911ccf5af4d0"]
    assert all(a.status is AlertStatus.RESOLVED for a in alerts)
    assert all(a.ends_at == datetime(2026, 11, 23, 23, 29, 35, 788000, tzinfo=UTC) for a in alerts)


def test_mixed_group_keeps_each_alerts_own_status() -> None:
    data = am_fixture("mixed_group.json")
    assert data["status"] == "firing"
    alerts = alertmanager.parse(data)
    assert [(a.host, a.status) for a in alerts] == [
        ("nas-01.globex.example", AlertStatus.FIRING),
        ("nas-02.globex.example", AlertStatus.RESOLVED),
        ("nas-03.globex.example", AlertStatus.FIRING),
    ]
    assert alerts[0].ends_at is None
    assert alerts[1].ends_at == datetime(2026, 11, 23, 23, 29, 33, 824000, tzinfo=UTC)
    assert alerts[2].ends_at is None


def test_truncated_alerts_kept_in_extra() -> None:
    alerts = alertmanager.parse(am_fixture("truncated_max_alerts.json"))
    assert len(alerts) == 2
    assert all(a.extra["truncatedAlerts"] == 2 for a in alerts)
    assert all(a.extra["receiver"] == "harness-truncate" for a in alerts)
    assert [a.host for a in alerts] == ["probe-1", "probe-2"]  # an instance without a port is the host
    assert alerts[0].identity != alerts[1].identity
    assert alerts[0].expression == "vector(1)"


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "host"),
    [
        ({"instance": "web-01.acme.example:9100"}, "web-01.acme.example"),
        ({"instance": "10.0.0.5:9100"}, "10.0.0.5"),
        ({"instance": "probe-1"}, "probe-1"),
        ({"instance": "https://shop.acme.example/healthz"}, "shop.acme.example"),
        ({"instance": "http://shop.acme.example:8080/login"}, "shop.acme.example"),
        ({"instance": "db-01:9187", "host": "db-01.acme.example"}, "db-01.acme.example"),
        ({"instance": "db-01:9187", "hostname": "db01"}, "db01"),
        ({"instance": "db-01:9187", "nodename": "db01-node"}, "db01-node"),
        ({"instance": "10.0.0.1:10250", "node": "k8s-worker-3"}, "k8s-worker-3"),
        ({"job": "node"}, ""),
        ({"host": "", "instance": "x:1"}, "x"),
    ],
)
def test_host_of(labels: dict[str, str], host: str) -> None:
    assert alertmanager.host_of(labels) == host


def test_host_of_ipv6_instance_drops_the_port() -> None:
    assert alertmanager.host_of({"instance": "[2001:db8::5]:9100"}) in ("2001:db8::5", "[2001:db8::5]")


@pytest.mark.parametrize(
    ("url", "expr"),
    [
        ("http://p:9090/graph?g0.expr=up%7Bjob%3D%22node%22%7D+%3D%3D+0&g0.tab=1", 'up{job="node"} == 0'),
        ("http://p:9090/graph?g0.tab=1&g0.expr=rate%28x%5B5m%5D%29+%3E+1", "rate(x[5m]) > 1"),
        ("http://thanos:10902/graph?expr=vector%281%29", "vector(1)"),
        ("http://p:9090/graph?g0.tab=1", ""),
        ("", ""),
        ("not a url at all", ""),
        ("http://[::1", ""),  # urlsplit raises ValueError: read as no expression
    ],
)
def test_expression_of(url: str, expr: str) -> None:
    assert alertmanager.expression_of(url) == expr


def test_title_falls_back_to_message_then_alertname() -> None:
    body = am_body(
        am_item({"alertname": "A"}, {"message": "the message"}),
        am_item({"alertname": "B"}, {}),
        am_item({"job": "x"}, {}),
    )
    a, b, c = alertmanager.parse(body)
    assert (a.title, b.title, c.title) == ("the message", "B", "Alert")
    assert c.name == ""


def test_missing_fingerprint_is_derived_from_labels_stably() -> None:
    labels = {"alertname": "HostDown", "instance": "a:9100", "severity": "critical"}
    [a] = alertmanager.parse(am_body(am_item(labels)))
    [b] = alertmanager.parse(am_body(am_item(dict(reversed(list(labels.items()))), {"summary": "other text"})))
    [c] = alertmanager.parse(am_body(am_item({**labels, "instance": "b:9100"})))
    assert a.identity == b.identity
    assert a.group == b.group == alertmanager.problem_id(labels)
    assert len(a.identity) == 16
    assert c.identity != a.identity


def test_resolved_with_zero_or_garbage_end_has_no_end() -> None:
    body = am_body(
        am_item({"alertname": "A"}, status="resolved", ends_at="0001-01-01T00:00:00Z"),
        am_item({"alertname": "B"}, status="resolved", ends_at="yesterday"),
        am_item({"alertname": "C"}, status="resolved", ends_at="2026-11-23T10:05:00.123456789Z"),
        status="resolved",
    )
    a, b, c = alertmanager.parse(body)
    assert a.ends_at is None and b.ends_at is None
    assert c.ends_at is not None and c.ends_at.replace(microsecond=0) == datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


def test_unknown_fields_are_ignored() -> None:
    data = am_fixture("firing.json")
    data["somethingNew"] = {"x": 1}
    data["alerts"][0]["silencedBy"] = []
    assert len(alertmanager.parse(data)) == 1


def test_exactly_max_alerts_is_accepted() -> None:
    items = [am_item({"alertname": "A", "n": str(i)}) for i in range(alertmanager.MAX_ALERTS)]
    assert len(alertmanager.parse(am_body(*items))) == alertmanager.MAX_ALERTS


def test_label_value_at_the_limit_is_accepted() -> None:
    [a] = alertmanager.parse(am_body(am_item({"alertname": "A", "big": "x" * alertmanager.MAX_VALUE})))
    assert len(a.labels["big"]) == alertmanager.MAX_VALUE


# --- errors -----------------------------------------------------------------------------------


def _firing() -> dict[str, Any]:
    return copy.deepcopy(am_fixture("firing.json"))


def _set(path: list[Any], value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        node: Any = d
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return mutate


def _drop(path: list[Any]) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        node: Any = d
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        pytest.param(_set(["version"], "3"), "version", id="version-3"),
        pytest.param(_set(["version"], 4), "version", id="version-int"),
        pytest.param(_drop(["version"]), "version", id="version-missing"),
        pytest.param(_drop(["alerts"]), "alerts", id="alerts-missing"),
        pytest.param(_set(["alerts"], []), "alerts", id="alerts-empty"),
        pytest.param(_set(["alerts"], {"0": {}}), "alerts", id="alerts-dict"),
        pytest.param(_set(["alerts"], "x"), "alerts", id="alerts-string"),
        pytest.param(_set(["alerts"], None), "alerts", id="alerts-null"),
        pytest.param(_drop(["alerts", 0, "labels"]), "alerts[0].labels", id="labels-missing"),
        pytest.param(_set(["alerts", 0, "labels"], {}), "alerts[0].labels", id="labels-empty"),
        pytest.param(_set(["alerts", 0, "labels"], ["a"]), "alerts[0].labels", id="labels-list"),
        pytest.param(_set(["alerts", 0, "status"], "pending"), "alerts[0].status", id="status-pending"),
        pytest.param(_drop(["alerts", 0, "status"]), "alerts[0].status", id="status-missing"),
        pytest.param(_set(["alerts", 0, "labels", "severity"], 5), "alerts[0].labels.severity", id="label-int"),
        pytest.param(_set(["alerts", 0, "labels", "severity"], None), "alerts[0].labels.severity", id="label-null"),
        pytest.param(_set(["alerts", 0, "labels", "job"], {"a": "b"}), "alerts[0].labels.job", id="label-dict"),
        pytest.param(
            _set(["alerts", 0, "labels", "job"], "x" * (alertmanager.MAX_VALUE + 1)),
            "alerts[0].labels.job",
            id="label-too-long",
        ),
        pytest.param(
            _set(["alerts", 0, "annotations", "description"], "x" * (alertmanager.MAX_VALUE + 1)),
            "alerts[0].annotations.description",
            id="annotation-too-long",
        ),
        pytest.param(_set(["alerts", 0, "startsAt"], "not a time"), "alerts[0].startsAt", id="startsAt-bad"),
        pytest.param(_set(["alerts", 0, "fingerprint"], "f" * 65), "alerts[0].fingerprint", id="fingerprint-long"),
        pytest.param(_set(["status"], "weird"), "status", id="body-status"),
        pytest.param(_set(["truncatedAlerts"], -1), "truncatedAlerts", id="truncated-negative"),
    ],
)
def test_bad_bodies_name_the_field(mutate: Any, where: str) -> None:
    data = _firing()
    mutate(data)
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(data)
    assert err.value.where == where
    assert err.value.message.startswith(where)
    assert err.value.to_dict() == {"error": "invalid_payload", "message": err.value.message, "field": where}


def test_bad_alert_further_down_is_named_by_index() -> None:
    data = copy.deepcopy(am_fixture("grouped_firing.json"))
    data["alerts"][2]["labels"]["severity"] = 3
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(data)
    assert err.value.where == "alerts[2].labels.severity"


@pytest.mark.parametrize("data", [None, [], [_firing()], "body", 4, b"{}"])
def test_body_not_a_dict(data: Any) -> None:
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(data)
    assert err.value.where == ""
    assert err.value.to_dict() == {"error": "invalid_payload", "message": err.value.message}


def test_more_than_max_alerts() -> None:
    items = [am_item({"alertname": "A", "n": str(i)}) for i in range(alertmanager.MAX_ALERTS + 1)]
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(am_body(*items))
    assert err.value.where == "alerts"


def test_too_many_labels() -> None:
    labels = {f"l{i}": "v" for i in range(alertmanager.MAX_LABELS + 1)}
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(am_body(am_item(labels)))
    assert err.value.where == "alerts[0].labels"


def test_too_long_label_name() -> None:
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(am_body(am_item({"alertname": "A", "k" * 257: "v"})))
    assert err.value.where.startswith("alerts[0].labels")


def test_error_counts_further_problems() -> None:
    data = _firing()
    data["version"] = "3"
    data["alerts"][0]["status"] = "pending"
    with pytest.raises(PayloadError) as err:
        alertmanager.parse(data)
    assert "more problem" in err.value.message


def test_severity_does_not_change_the_problem() -> None:
    labels = {"alertname": "DiskFull", "instance": "a:9100", "severity": "warning"}
    [w] = alertmanager.parse(am_body(am_item(labels)))
    [c] = alertmanager.parse(am_body(am_item({**labels, "severity": "critical"})))
    assert w.identity != c.identity and w.group == c.group
    [other] = alertmanager.parse(am_body(am_item({**labels, "instance": "b:9100"})))
    assert other.group != w.group
