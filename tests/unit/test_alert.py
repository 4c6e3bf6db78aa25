"""connectors.alert and connectors.validation: the shared Alert shape and its helpers."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from pydantic import BaseModel

from connectors import findings, zabbix
from connectors.alert import Alert, AlertStatus, PayloadError, Update, bounded, strip_nul
from connectors.validation import field_path, parse_model
from tests.unit.util import zbx_fixture


def test_alert_status_values() -> None:
    assert [s.value for s in AlertStatus] == ["firing", "resolved", "update"]
    assert AlertStatus("firing") is AlertStatus.FIRING


def test_alert_is_frozen() -> None:
    a = Alert(source="s", identity="i", group="g", status=AlertStatus.FIRING, name="n", title="t")
    with pytest.raises(AttributeError):
        a.title = "other"  # type: ignore[misc]
    assert a.labels == {} and a.host_groups == () and a.update is None and a.source_seq is None


def test_headline_and_text_skip_empty_parts() -> None:
    a = Alert(source="s", identity="i", group="g", status=AlertStatus.FIRING, name="", title="Only title")
    assert a.headline() == "Only title"
    assert a.text() == "Only title"


def test_update_defaults() -> None:
    assert Update(action="commented", message="m", user="u").closes is False


def test_payload_error() -> None:
    e = PayloadError("alerts: Field required", "alerts")
    assert isinstance(e, ValueError)
    assert str(e) == "alerts: Field required"
    assert e.to_dict() == {"error": "invalid_payload", "message": "alerts: Field required", "field": "alerts"}
    assert PayloadError("bad").to_dict() == {"error": "invalid_payload", "message": "bad"}


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        ((), ""),
        (("alerts",), "alerts"),
        (("alerts", 0, "labels", "severity"), "alerts[0].labels.severity"),
        (("event_tags_parsed", 3, "tag"), "event_tags_parsed[3].tag"),
        ((0,), "[0]"),
    ],
)
def test_field_path(loc: tuple[Any, ...], path: str) -> None:
    assert field_path(loc) == path


class _Model(BaseModel):
    a: int
    b: str = ""


def test_parse_model() -> None:
    assert parse_model(_Model, {"a": 1}).a == 1
    with pytest.raises(PayloadError) as err:
        parse_model(_Model, {"a": "x", "b": 2})
    assert err.value.where == "a"
    assert "(and 1 more problem(s))" in err.value.message
    with pytest.raises(PayloadError) as err:
        parse_model(_Model, [1])
    assert err.value.where == "" and err.value.message == "the body must be a JSON object"


# --- bounded and strip_nul ------------------------------------------------------------------------------


def test_bounded_keeps_short_values() -> None:
    assert bounded("") == ""
    assert bounded("x" * 128) == "x" * 128
    assert bounded("abc", limit=3) == "abc"


def test_bounded_digests_long_values_stably() -> None:
    long = "y" * 129
    assert bounded(long) == "sha256:" + hashlib.sha256(long.encode()).hexdigest()
    assert bounded(long) == bounded("y" * 129)
    assert bounded(long) != bounded("y" * 130)
    assert len(bounded("z" * 10_000)) <= 128
    assert bounded("abcd", limit=3).startswith("sha256:")


def test_strip_nul() -> None:
    data = {"a\x00b": ["x\x00", {"k": "v\x00\x00"}, 1, None, True], "n": 2.5}
    assert strip_nul(data) == {"ab": ["x", {"k": "v"}, 1, None, True], "n": 2.5}
    assert strip_nul("plain") == "plain"
    assert strip_nul(7) == 7


def test_long_zabbix_name_group_is_bounded() -> None:
    data = zbx_fixture("problem.json")
    data["trigger_id"] = "{TRIGGER.ID}"
    data["event_name"] = data["trigger_name"] = "Very long trigger name " * 20
    [a] = zabbix.parse(data)
    assert a.group.startswith("sha256:")
    [b] = zabbix.parse(data)
    assert a.group == b.group


def test_long_finding_key_is_bounded() -> None:
    base = {"customer": "acme", "title": "t", "engineer": "e", "host": "h"}
    [a] = findings.parse({**base, "key": "k" * 200})
    [b] = findings.parse({**base, "key": "k" * 200, "title": "other"})
    assert a.identity.startswith("sha256:") and a.identity == b.identity
    [c] = findings.parse({**base, "key": "k" * 201})
    assert c.identity != a.identity


def test_finding_field_length_limit() -> None:
    base = {"customer": "acme", "engineer": "e", "host": "h"}
    [a] = findings.parse({**base, "title": "t" * 255})
    assert len(a.title) == 255
    with pytest.raises(PayloadError) as err:
        findings.parse({**base, "title": "t" * 256})
    assert err.value.where == "title"


def test_whole_line_comments_of_an_expression_are_not_read_as_its_meaning() -> None:
    from connectors.alert import Alert, AlertStatus, uncommented

    expr = "# failed scrapes could give false negatives\n  # see the runbook\nmax(ctrl_leader) == 0"
    assert uncommented(expr) == "max(ctrl_leader) == 0"
    # a '#' inside the query itself is kept
    assert uncommented('up{path="#/x"} == 0') == 'up{path="#/x"} == 0'
    a = Alert("alertmanager", "x", "x", AlertStatus.FIRING, "NoLeader", "No leader", expression=expr)
    assert "failed" not in a.headline() and "failed" not in a.text()
    assert "max(ctrl_leader) == 0" in a.headline()
