"""connectors.zabbix: real Zabbix 6.0 media type bodies and hand-made bad ones."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors import zabbix
from connectors.alert import Alert, AlertStatus, PayloadError, Update
from tests.unit.util import ZBX_FIXTURES, zbx_fixture

TAGS = {"component": "raid", "scope": "storage", "customer": "acme"}


def parse_one(data: Any) -> Alert:
    alerts = zabbix.parse(data)
    assert len(alerts) == 1
    return alerts[0]


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(zbx_fixture(name))


# fixture -> (status, identity, source_seq, tags beyond TAGS)
EXPECTED = {
    "problem.json": (AlertStatus.FIRING, "5", 5, {}),
    "update_ack.json": (AlertStatus.UPDATE, "5", 5, {"__bridge_incident_id": "INC-5"}),
    "recovery.json": (AlertStatus.RESOLVED, "5", 6, {"__bridge_incident_id": "INC-5"}),
    "problem2.json": (AlertStatus.FIRING, "7", 7, {}),
    "update_close.json": (AlertStatus.UPDATE, "7", 7, {"__bridge_incident_id": "INC-7"}),
    "recovery_close.json": (AlertStatus.RESOLVED, "7", 8, {"__bridge_incident_id": "INC-7"}),
}


def test_every_fixture_is_listed() -> None:
    assert sorted(EXPECTED) == ZBX_FIXTURES


@pytest.mark.parametrize("name", ZBX_FIXTURES)
def test_fixture_common_fields(name: str) -> None:
    status, identity, seq, more_tags = EXPECTED[name]
    a = parse_one(fixture(name))
    assert a.source == "zabbix"
    assert a.status is status
    assert a.identity == identity
    assert a.group == "trigger:23133"  # the trigger: a relapse (new event id) finds its incident
    assert a.source_seq == seq
    assert a.name == a.title == "RAID degraded on Acme DB 01"
    assert a.host == "acme-db01"
    assert a.host_groups == ("Customers/Acme",)
    assert a.tags == {**TAGS, **more_tags}
    assert a.severity == "High"
    assert a.item_key == "raid.status"
    assert a.item_name == "RAID status"
    assert a.url == "http://127.0.0.1:8089"
    assert a.labels == {"host": "acme-db01", "host_name": "Acme DB 01", "host_ip": "127.0.0.1"}
    assert a.extra["trigger_id"] == "23133"
    assert a.extra["nseverity"] == "4"
    assert a.description.startswith("RAID array reports status")
    assert a.starts_at is not None and a.starts_at.tzinfo is not None


def test_problem() -> None:
    a = parse_one(fixture("problem.json"))
    assert a.status is AlertStatus.FIRING
    assert a.update is None
    assert a.opdata == "status=1"
    assert a.starts_at == datetime(2026, 11, 22, 23, 9, 0, tzinfo=UTC)
    assert a.ends_at is None
    # unresolved macros ({EVENT.TAGS.__bridge_incident_id}, {EVENT.RECOVERY.ID}) read as empty
    assert a.extra["incident_tag"] == ""
    assert a.source_seq == 5


def test_update_ack() -> None:
    a = parse_one(fixture("update_ack.json"))
    assert a.status is AlertStatus.UPDATE
    assert a.update == Update(
        action="acknowledged and commented",
        message="Incident INC-5 opened by bridge",
        user="(bridge-api)",  # "  (bridge-api)" stripped
        closes=False,
    )
    assert a.ends_at is None
    assert a.extra["incident_tag"] == "INC-5"


def test_update_close() -> None:
    data = fixture("update_close.json")
    assert data["event_value"] == "0"  # an update wins over the event value
    a = parse_one(data)
    assert a.status is AlertStatus.UPDATE
    assert a.update is not None
    assert a.update.closes is True
    assert a.update.action == "commented and closed"
    assert a.update.message == "Closed by bridge: INC-7 resolved"
    assert a.update.user == "(bridge-api)"
    assert a.source_seq == 7  # an update is ordered by its event id, not the recovery id
    assert a.ends_at is None


def test_recovery() -> None:
    a = parse_one(fixture("recovery.json"))
    assert a.status is AlertStatus.RESOLVED
    assert a.update is None
    assert a.source_seq == 6  # the recovery event id
    assert a.starts_at == datetime(2026, 11, 22, 23, 9, 0, tzinfo=UTC)
    assert a.ends_at == datetime(2026, 11, 22, 23, 9, 17, tzinfo=UTC)
    assert a.opdata == "status=0"
    assert a.extra["incident_tag"] == "INC-5"


def test_recovery_close() -> None:
    a = parse_one(fixture("recovery_close.json"))
    assert a.status is AlertStatus.RESOLVED
    assert a.source_seq == 8
    assert a.ends_at == datetime(2026, 11, 22, 23, 9, 25, tzinfo=UTC)


def test_problem2_is_a_relapse_of_the_same_trigger() -> None:
    p1 = parse_one(fixture("problem.json"))
    r1 = parse_one(fixture("recovery.json"))
    p2 = parse_one(fixture("problem2.json"))
    assert p2.identity != p1.identity
    assert p2.group == p1.group == r1.group
    assert p1.source_seq is not None and r1.source_seq is not None and p2.source_seq is not None
    assert p1.source_seq < r1.source_seq < p2.source_seq
    assert p2.opdata == "status=2"
    assert p2.starts_at == datetime(2026, 11, 22, 23, 9, 20, tzinfo=UTC)


def test_update_without_recovery_has_event_id_order() -> None:
    a = parse_one(fixture("update_ack.json"))
    assert a.source_seq == int(fixture("update_ack.json")["event_id"])


# --- tags ---------------------------------------------------------------------------------------


def test_tags_from_json_string_when_parsed_is_null() -> None:
    data = fixture("recovery.json")
    data["event_tags_parsed"] = None
    assert parse_one(data).tags == {**TAGS, "__bridge_incident_id": "INC-5"}


def test_tags_from_json_string_when_parsed_is_absent() -> None:
    data = fixture("problem.json")
    del data["event_tags_parsed"]
    assert parse_one(data).tags == TAGS


@pytest.mark.parametrize("tags", ["{EVENT.TAGSJSON}", "*UNKNOWN*", "", "not json", '{"tag": "x"}', "[1, 2]"])
def test_unusable_tag_string_gives_no_tags(tags: str) -> None:
    data = fixture("problem.json")
    data["event_tags_parsed"] = None
    data["event_tags"] = tags
    assert parse_one(data).tags == {}


def test_parsed_tags_win_over_the_string() -> None:
    data = fixture("problem.json")
    data["event_tags_parsed"] = [{"tag": "customer", "value": "globex"}]
    assert parse_one(data).tags == {"customer": "globex"}


def test_first_value_of_a_repeated_tag_wins_and_value_defaults_to_empty() -> None:
    data = fixture("problem.json")
    data["event_tags_parsed"] = [{"tag": "service", "value": "a"}, {"tag": "service", "value": "b"}, {"tag": "flag"}]
    assert parse_one(data).tags == {"service": "a", "flag": ""}


def test_tags_json_string_matches_parsed_in_fixtures() -> None:
    for name in ZBX_FIXTURES:
        data = fixture(name)
        assert json.loads(data["event_tags"]) == data["event_tags_parsed"]


# --- macros and fallbacks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{EVENT.RECOVERY.ID}", ""),
        ("{EVENT.TAGS.__bridge_incident_id}", ""),
        ("{USER.FULLNAME}", ""),
        ("{$CUSTOMER}", ""),
        ("*UNKNOWN*", ""),
        ("  {EVENT.UPDATE.MESSAGE}  ", ""),
        ("  INC-5 ", "INC-5"),
        ("status=1", "status=1"),
        ("{ok}", "{ok}"),
        ("", ""),
    ],
)
def test_value(text: str, expected: str) -> None:
    assert zabbix.value(text) == expected


def test_event_name_falls_back_to_trigger_name() -> None:
    data = fixture("problem.json")
    data["event_name"] = "{EVENT.NAME}"
    data["trigger_name"] = "Trigger name"
    assert parse_one(data).name == "Trigger name"


def test_host_falls_back_to_visible_name() -> None:
    data = fixture("problem.json")
    data["host_host"] = "{HOST.HOST}"
    assert parse_one(data).host == "Acme DB 01"


def test_unresolved_trigger_id_groups_by_host_and_name() -> None:
    data = fixture("problem.json")
    data["trigger_id"] = "{TRIGGER.ID}"
    a = parse_one(data)
    assert a.group == "name:acme-db01:RAID degraded on Acme DB 01"
    assert a.extra["trigger_id"] == ""


def test_several_host_groups() -> None:
    data = fixture("problem.json")
    data["host_groups"] = "Customers/Acme, Linux servers,  ,Databases"
    assert parse_one(data).host_groups == ("Customers/Acme", "Linux servers", "Databases")


def test_unresolved_host_groups() -> None:
    data = fixture("problem.json")
    data["host_groups"] = "{TRIGGER.HOSTGROUP.NAME}"
    assert parse_one(data).host_groups == ()


def test_unresolved_or_bad_dates_give_no_time() -> None:
    data = fixture("problem.json")
    data["event_date"] = "{EVENT.DATE}"
    assert parse_one(data).starts_at is None
    data["event_date"] = "22/11/2026"
    assert parse_one(data).starts_at is None


def test_recovery_with_unresolved_recovery_id_orders_by_event_id() -> None:
    data = fixture("recovery.json")
    data["event_recovery_id"] = "{EVENT.RECOVERY.ID}"
    data["event_recovery_date"] = "{EVENT.RECOVERY.DATE}"
    a = parse_one(data)
    assert a.status is AlertStatus.RESOLVED
    assert a.source_seq == 5
    assert a.ends_at is None


def test_update_with_unknown_user() -> None:
    data = fixture("update_ack.json")
    data["event_update_user"] = "*UNKNOWN*"
    data["event_update_message"] = "{EVENT.UPDATE.MESSAGE}"
    a = parse_one(data)
    assert a.update == Update(action="acknowledged and commented", message="", user="", closes=False)


@pytest.mark.parametrize(
    ("action", "closes"),
    [("closed", True), ("Commented and Closed", True), ("acknowledged", False), ("changed severity", False)],
)
def test_update_closes_only_when_the_action_closes(action: str, closes: bool) -> None:
    data = fixture("update_ack.json")
    data["event_update_action"] = action
    a = parse_one(data)
    assert a.update is not None and a.update.closes is closes


def test_kind_from_media_type_when_event_value_absent() -> None:
    for kind, status in (("problem", AlertStatus.FIRING), ("recovery", AlertStatus.RESOLVED)):
        data = fixture("problem.json")
        del data["event_value"]
        data["kind"] = kind
        assert parse_one(data).status is status


def test_event_value_wins_over_kind() -> None:
    data = fixture("recovery.json")
    data["kind"] = "problem"
    assert parse_one(data).status is AlertStatus.RESOLVED


def test_unknown_fields_are_ignored() -> None:
    data = fixture("problem.json")
    data["event_new_field"] = {"x": [1]}
    assert parse_one(data).identity == "5"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "where"),
    [
        pytest.param({"event_id": None}, "event_id", id="event_id-null"),
        pytest.param({"event_id": ""}, "event_id", id="event_id-empty"),
        pytest.param({"event_id": "abc"}, "event_id", id="event_id-letters"),
        pytest.param({"event_id": "{EVENT.ID}"}, "event_id", id="event_id-macro"),
        pytest.param({"event_id": "-5"}, "event_id", id="event_id-negative"),
        pytest.param({"event_id": "1" * 21}, "event_id", id="event_id-too-long"),
        pytest.param({"event_id": {"id": "5"}}, "event_id", id="event_id-dict"),
        pytest.param({"event_id": ["5"]}, "event_id", id="event_id-list"),
        pytest.param({"event_value": "2"}, "event_value", id="event_value-2"),
        pytest.param({"event_value": "PROBLEM"}, "event_value", id="event_value-word"),
        pytest.param({"event_value": 1}, "event_value", id="event_value-int"),
        pytest.param({"event_name": "", "trigger_name": ""}, "event_name", id="no-name"),
        pytest.param({"event_name": "{EVENT.NAME}", "trigger_name": "*UNKNOWN*"}, "event_name", id="macro-names"),
        pytest.param({"event_name": "  ", "trigger_name": "{TRIGGER.NAME}"}, "event_name", id="blank-name"),
        pytest.param({"kind": "escalation"}, "kind", id="kind-unknown"),
        pytest.param({"event_tags_parsed": "not a list"}, "event_tags_parsed", id="tags-parsed-string"),
        pytest.param({"event_tags_parsed": [{"value": "x"}]}, "event_tags_parsed[0].tag", id="tag-without-name"),
        pytest.param({"trigger_name": 12}, "trigger_name", id="trigger_name-int"),
    ],
)
def test_bad_bodies_name_the_field(change: dict[str, Any], where: str) -> None:
    data = fixture("problem.json")
    data.update(change)
    with pytest.raises(PayloadError) as err:
        zabbix.parse(data)
    assert err.value.where == where


def test_event_id_missing() -> None:
    data = fixture("problem.json")
    del data["event_id"]
    with pytest.raises(PayloadError) as err:
        zabbix.parse(data)
    assert err.value.where == "event_id"


def test_neither_event_value_nor_kind() -> None:
    data = fixture("problem.json")
    del data["event_value"]
    del data["kind"]
    with pytest.raises(PayloadError) as err:
        zabbix.parse(data)
    assert err.value.where == "event_value"


@pytest.mark.parametrize("data", [None, [], "x", 5])
def test_body_not_a_dict(data: Any) -> None:
    with pytest.raises(PayloadError) as err:
        zabbix.parse(data)
    assert err.value.where == ""


def test_too_long_value() -> None:
    data = fixture("problem.json")
    data["trigger_description"] = "x" * (zabbix.MAX_VALUE + 1)
    with pytest.raises(PayloadError) as err:
        zabbix.parse(data)
    assert err.value.where == "trigger_description"
