"""connectors.findings: an engineer's finding to an Alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors import findings
from connectors.alert import AlertStatus, PayloadError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def finding(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer": "acme",
        "title": "Backup of the file server has not run for 3 days",
        "engineer": "Ivan Petrov",
        "service": "fileserver",
        "description": "Found while checking the Veeam console.",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def test_valid_finding() -> None:
    [a] = findings.parse(finding(host="acme-db01", service_affecting=False), now=NOW)
    assert a.source == "engineer"
    assert a.status is AlertStatus.FIRING
    assert a.name == "Finding"
    assert a.title == "Backup of the file server has not run for 3 days"
    assert a.description == "Found while checking the Veeam console."
    assert a.host == "acme-db01"
    assert a.labels == {"customer": "acme", "service": "fileserver", "host": "acme-db01"}
    assert a.starts_at == NOW
    assert a.ends_at is None
    assert a.identity == a.group
    assert a.extra == {"engineer": "Ivan Petrov", "service_affecting": False}


def test_defaults() -> None:
    before = datetime.now(UTC)
    [a] = findings.parse(finding(description=...))
    assert a.description == ""
    assert a.extra["service_affecting"] is None
    assert a.host == ""
    assert a.labels == {"customer": "acme", "service": "fileserver"}
    assert a.starts_at is not None and a.starts_at >= before


def test_host_only() -> None:
    [a] = findings.parse(finding(service=..., host="web01.acme"), now=NOW)
    assert a.labels == {"customer": "acme", "host": "web01.acme"}
    assert a.host == "web01.acme"


def test_resolved_finding() -> None:
    [a] = findings.parse(finding(status="resolved"), now=NOW)
    assert a.status is AlertStatus.RESOLVED
    [b] = findings.parse(finding(status="open"), now=NOW)
    assert b.status is AlertStatus.FIRING
    assert a.identity == b.identity


def test_values_are_stripped() -> None:
    [a] = findings.parse(finding(title="  Disk nearly full  ", engineer=" Ivan "), now=NOW)
    assert a.title == "Disk nearly full"
    assert a.extra["engineer"] == "Ivan"


@pytest.mark.parametrize("field", ["title", "engineer", "customer"])
def test_required_field_missing(field: str) -> None:
    with pytest.raises(PayloadError) as err:
        findings.parse(finding(**{field: ...}))
    assert err.value.where == field


@pytest.mark.parametrize("field", ["title", "engineer", "customer"])
@pytest.mark.parametrize("value", ["", "   ", None, 5])
def test_required_field_blank_or_wrong_type(field: str, value: Any) -> None:
    with pytest.raises(PayloadError) as err:
        findings.parse(finding(**{field: value}))
    assert err.value.where == field


def test_neither_service_nor_host() -> None:
    with pytest.raises(PayloadError) as err:
        findings.parse(finding(service=...))
    assert "service or a host" in err.value.message


def test_null_service_and_host() -> None:
    with pytest.raises(PayloadError):
        findings.parse(finding(service=None, host=None))


def test_unknown_field_rejected() -> None:
    with pytest.raises(PayloadError) as err:
        findings.parse(finding(severity="high"))
    assert err.value.where == "severity"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"status": "closed"}, "status"),
        ({"service_affecting": "maybe"}, "service_affecting"),
        ({"title": "x" * 257}, "title"),
        ({"key": ""}, "key"),
    ],
)
def test_bad_values(change: dict[str, Any], where: str) -> None:
    with pytest.raises(PayloadError) as err:
        findings.parse(finding(**change))
    assert err.value.where == where


@pytest.mark.parametrize("data", [None, [], "finding"])
def test_not_a_dict(data: Any) -> None:
    with pytest.raises(PayloadError):
        findings.parse(data)


# --- identity -----------------------------------------------------------------------------------


def ident(**over: Any) -> str:
    [a] = findings.parse(finding(**over), now=NOW)
    return a.identity


def test_same_place_and_title_is_the_same_finding() -> None:
    a = ident()
    assert ident(engineer="Someone Else", description="other words", service_affecting=True) == a
    assert ident(title="BACKUP of the file server   has not run\tfor 3 days") == a
    assert ident(title="  backup of the file server has not run for 3 days ") == a
    assert ident(customer="ACME", service="FileServer") == a


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Backup of the file server has not run for 4 days"},
        {"customer": "globex"},
        {"service": "website"},
        {"host": "acme-db01"},
        {"service": ..., "host": "fileserver"},
    ],
)
def test_different_place_or_title_is_a_different_finding(change: dict[str, Any]) -> None:
    assert ident(**change) != ident()


def test_key_overrides_identity() -> None:
    a = ident(key="veeam-job-17")
    assert a == "key:veeam-job-17"
    assert ident(key="veeam-job-17", title="Something else entirely", service="website") == a
    assert ident(key="veeam-job-18") != a
    [alert] = findings.parse(finding(key="veeam-job-17"), now=NOW)
    assert alert.group == alert.identity == a


def test_identity_is_deterministic() -> None:
    assert ident() == ident()
    assert len(ident()) == 16
