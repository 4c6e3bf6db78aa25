"""classifier.binding and classifier.inventory: which customer and service an alert belongs to."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from classifier import Binding, Curator, Customer, Match, Service, UnknownCustomer, bind
from classifier.inventory import host_matches, norm_host
from connectors import alertmanager, zabbix
from connectors.alert import Alert, AlertStatus
from tests.unit.util import am_fixture, customers, zbx_fixture


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "source": "alertmanager",
        "identity": "f1",
        "group": "f1",
        "status": AlertStatus.FIRING,
        "name": "SomethingWrong",
        "title": "Something is wrong",
    }
    base.update(kw)
    return Alert(**base)


def ids(b: Binding) -> tuple[str | None, str | None]:
    return (b.customer.id if b.customer else None, b.service.id if b.service else None)


CUSTOMERS = customers()


def test_customer_by_label_and_service_by_label() -> None:
    b = bind(alert(labels={"customer": "acme", "service": "website"}), CUSTOMERS)
    assert ids(b) == ("acme", "website")
    assert "customer named by the alert (acme)" in b.how
    assert "service named by the alert (website)" in b.how


def test_customer_by_label_without_service() -> None:
    b = bind(alert(labels={"customer": "globex"}), CUSTOMERS)
    assert ids(b) == ("globex", None)
    assert b.how == "customer named by the alert (globex)"


def test_customer_named_by_its_name_case_insensitively() -> None:
    assert ids(bind(alert(labels={"customer": "GLOBEX corporation"}), CUSTOMERS)) == ("globex", None)


def test_customer_id_named_in_other_case() -> None:
    assert ids(bind(alert(tags={"customer": "Acme"}), CUSTOMERS)) == ("acme", None)


def test_customer_by_zabbix_tag() -> None:
    b = bind(alert(source="zabbix", tags={"customer": "globex"}), CUSTOMERS)
    assert ids(b) == ("globex", None)


def test_label_wins_over_tag() -> None:
    b = bind(alert(labels={"customer": "acme"}, tags={"customer": "globex"}), CUSTOMERS)
    assert ids(b) == ("acme", None)


def test_service_by_tag() -> None:
    b = bind(alert(source="zabbix", tags={"customer": "globex", "service": "mail"}), CUSTOMERS)
    assert ids(b) == ("globex", "mail")


def test_service_by_host_within_named_customer() -> None:
    b = bind(alert(tags={"customer": "globex"}, host="mx2.globex.example"), CUSTOMERS)
    assert ids(b) == ("globex", "mail")
    assert "service by host mx2.globex.example" in b.how


def test_named_customer_never_takes_another_customers_service() -> None:
    # acme is named; the host and the service label belong to globex
    assert ids(bind(alert(labels={"customer": "acme", "service": "mail"}), CUSTOMERS)) == ("acme", None)
    assert ids(bind(alert(labels={"customer": "acme"}, host="mx1.globex.example"), CUSTOMERS)) == ("acme", None)


def test_customer_by_host_group() -> None:
    b = bind(alert(source="zabbix", host="gx-app-07", host_groups=("Linux servers", "Customers/Globex")), CUSTOMERS)
    assert ids(b) == ("globex", None)
    assert b.how == "by host group Customers/Globex"


def test_host_group_case_insensitive() -> None:
    assert ids(bind(alert(host_groups=("customers/globex",)), CUSTOMERS)) == ("globex", None)


def test_service_by_host_group() -> None:
    assert ids(bind(alert(host_groups=("Customers/Acme",)), CUSTOMERS)) == ("acme", "fileserver")


def test_service_by_exact_host_without_customer_label() -> None:
    b = bind(alert(host="web02.acme"), CUSTOMERS)
    assert ids(b) == ("acme", "website")
    assert b.how == "by host web02.acme"


@pytest.mark.parametrize(
    "host", ["nas-01.globex.example", "NAS-07.Globex.Example", "nas-backup.globex.example.", " nas-2.globex.example "]
)
def test_service_by_host_glob(host: str) -> None:
    assert ids(bind(alert(host=host), CUSTOMERS)) == ("globex", "nas")


@pytest.mark.parametrize("host", ["nas.globex.example", "nas-01.globex.example.evil", "mynas-01.globex.example", ""])
def test_host_glob_does_not_overmatch(host: str) -> None:
    assert ids(bind(alert(host=host), CUSTOMERS)) == (None, None)


def test_host_beats_host_group() -> None:
    # web01.acme is the website's host; the host group alone would say fileserver
    b = bind(alert(host="web01.acme", host_groups=("Customers/Acme",)), CUSTOMERS)
    assert ids(b) == ("acme", "website")


def test_unknown_named_customer_strict_raises() -> None:
    with pytest.raises(UnknownCustomer) as err:
        bind(alert(labels={"customer": "initech"}), CUSTOMERS)
    assert err.value.customer == "initech"
    assert "initech" in str(err.value)
    with pytest.raises(UnknownCustomer):
        bind(alert(tags={"customer": "initech"}, host="web01.acme"), CUSTOMERS, strict=True)


def test_unknown_named_customer_lenient_binds_none() -> None:
    b = bind(alert(labels={"customer": "initech"}, host="web01.acme"), CUSTOMERS, strict=False)
    assert ids(b) == (None, None)
    assert "initech" in b.how


def test_no_customer() -> None:
    b = bind(alert(host="unknown-host", labels={"job": "node"}), CUSTOMERS)
    assert b == Binding(None, None, "no customer matches")
    assert bind(alert(), []) == Binding(None, None, "no customer matches")


def test_customer_level_label_match() -> None:
    umbrella = Customer(id="umbrella", name="Umbrella", match=Match(labels={"tenant": "umbrella"}))
    b = bind(alert(labels={"tenant": "umbrella"}), [*CUSTOMERS, umbrella])
    assert ids(b) == ("umbrella", None)
    assert b.how == "by label tenant=umbrella"


def test_customer_level_tag_and_host_match() -> None:
    umbrella = Customer(
        id="umbrella", name="Umbrella", match=Match(tags={"tenant": "umbrella"}, hosts=["*.umbrella.example"])
    )
    assert ids(bind(alert(tags={"tenant": "umbrella"}), [umbrella, *CUSTOMERS])) == ("umbrella", None)
    assert ids(bind(alert(host="db.umbrella.example"), [umbrella, *CUSTOMERS])) == ("umbrella", None)


def test_service_id_shared_by_two_customers_is_not_bound_to_either() -> None:
    initech = Customer(id="initech", name="Initech", services=[Service(id="website", name="Initech site")])
    hooli = Customer(id="hooli", name="Hooli", services=[Service(id="website", name="Hooli site")])
    b1 = bind(alert(labels={"service": "website"}), [hooli, initech])
    b2 = bind(alert(labels={"service": "website"}), [initech, hooli])
    assert b1.customer is None and b2.customer is None
    # a customer whose own match rules claim the label still gets it, whatever the order
    b3 = bind(alert(labels={"service": "website"}), [*CUSTOMERS, initech])
    b4 = bind(alert(labels={"service": "website"}), [initech, *CUSTOMERS])
    assert ids(b3) == ids(b4) == ("acme", "website")


def test_stronger_match_wins_regardless_of_order() -> None:
    umbrella = Customer(id="umbrella", name="Umbrella", match=Match(labels={"tenant": "umbrella"}))
    a = alert(labels={"tenant": "umbrella"}, host_groups=("Customers/Acme",))
    assert ids(bind(a, [umbrella, *CUSTOMERS])) == ("umbrella", None)
    assert ids(bind(a, [*CUSTOMERS, umbrella])) == ("umbrella", None)


def test_service_named_without_customer() -> None:
    b = bind(alert(labels={"service": "mail"}), CUSTOMERS)
    assert ids(b) == ("globex", "mail")


# --- fixtures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("firing.json", [("acme", "website")]),
        ("raid_degraded.json", [("acme", "fileserver")]),
        ("grouped_firing.json", [("globex", "nas")] * 3),
        ("mixed_group.json", [("globex", "nas")] * 3),
        ("from_prometheus_firing.json", [("acme", None)]),  # service "monitoring" is not in the inventory
    ],
)
def test_alertmanager_fixtures_bind(name: str, expected: list[tuple[str, str | None]]) -> None:
    assert [ids(bind(a, CUSTOMERS)) for a in alertmanager.parse(am_fixture(name))] == expected


def test_truncate_fixture_names_an_unknown_customer() -> None:
    alerts = alertmanager.parse(am_fixture("truncated_max_alerts.json"))
    with pytest.raises(UnknownCustomer):
        bind(alerts[0], CUSTOMERS)
    assert ids(bind(alerts[0], CUSTOMERS, strict=False)) == (None, None)


@pytest.mark.parametrize("name", ["problem.json", "recovery.json", "update_ack.json", "problem2.json"])
def test_zabbix_fixtures_bind_by_tag_and_host(name: str) -> None:
    [a] = zabbix.parse(zbx_fixture(name))
    b = bind(a, CUSTOMERS)
    assert ids(b) == ("acme", "fileserver")
    assert b.how == "customer named by the alert (acme); service by host acme-db01"


def test_zabbix_fixture_without_customer_tag_binds_by_host() -> None:
    data = zbx_fixture("problem.json")
    data["event_tags_parsed"] = []
    [a] = zabbix.parse(data)
    assert ids(bind(a, CUSTOMERS)) == ("acme", "fileserver")


# --- inventory --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "host", "ok"),
    [
        ("web01.acme", "web01.acme", True),
        ("web01.acme", "WEB01.ACME.", True),
        ("web01.acme", "web01.acme.example", False),
        ("web0?.acme", "web07.acme", True),
        ("web0?.acme", "web10.acme", False),
        ("*.acme", "db.acme", True),
        ("*.acme", "acme", False),
        ("db[1].acme", "db[1].acme", True),  # [] are not glob classes
        ("db[1].acme", "db1.acme", False),
        ("a.b", "axb", False),  # the dot is literal
        ("*", "", False),
    ],
)
def test_host_matches(pattern: str, host: str, ok: bool) -> None:
    assert host_matches(pattern, host) is ok


def test_norm_host() -> None:
    assert norm_host("  Web01.ACME. ") == "web01.acme"


def test_match_is_empty() -> None:
    assert Match().is_empty()
    assert not Match(hosts=["a"]).is_empty()


def test_curators_of_service() -> None:
    c = Customer(
        id="acme",
        name="Acme",
        curators=[Curator(name="A", email="a@acme.example"), Curator(name="B", email="b@acme.example")],
        services=[
            Service(id="web", name="Web", curators=["B@acme.example"]),
            Service(id="db", name="DB"),
        ],
    )
    assert [x.name for x in c.curators_of("web")] == ["B"]
    assert [x.name for x in c.curators_of("db")] == ["A", "B"]
    assert [x.name for x in c.curators_of(None)] == ["A", "B"]
    assert [x.name for x in c.curators_of("nope")] == ["A", "B"]
    assert c.service("db") is not None and c.service("nope") is None


@pytest.mark.parametrize(
    "kw",
    [
        {"id": "Acme"},  # ids are lower case
        {"id": "acme ltd"},
        {"services": [Service(id="a", name="A"), Service(id="a", name="B")]},
        {"services": [Service(id="a", name="A", curators=["stranger@example.com"])]},
        {"curators": [{"name": "X", "email": "not-an-email"}]},
        {"curators": [{"name": "X", "email": "x@example.com", "language": "de"}]},
        {"unknown": 1},
    ],
)
def test_customer_validation(kw: dict[str, Any]) -> None:
    data: dict[str, Any] = {"id": "acme", "name": "Acme", **kw}
    with pytest.raises(ValidationError):
        Customer.model_validate(data)
