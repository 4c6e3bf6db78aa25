"""bridge.notices: the curator e-mails, in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.notices import TEXTS, IncidentFacts, _duration, render
from classifier import Curator

EN = Curator(name="Alice Carter", email="curator@acme.example", language="en")
RU = Curator(name="Борис Иванов", email="it-manager@globex.example", language="ru")
OPENED = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)


def facts(service: str | None = "Company website", resolved_after: timedelta | None = None, **kw: str) -> IncidentFacts:
    return IncidentFacts(
        customer_name=kw.get("customer", "Acme Ltd"),
        service_name=service,
        title=kw.get("title", "Host web-01.acme.example is down"),
        host=kw.get("host", "web-01.acme.example"),
        priority=kw.get("priority", "critical"),
        ticket=kw.get("ticket", "AB-000042"),
        opened_at=OPENED,
        resolved_at=OPENED + resolved_after if resolved_after is not None else None,
    )


def test_en_affected() -> None:
    subject, body = render("affected", EN, facts(), "Example MSP")
    assert subject == "[Acme Ltd] Service affected: Company website (AB-000042)"
    assert body.startswith("Dear Alice Carter,\n\n")
    assert 'affects your service "Company website"' in body
    assert "Problem:" in body and "Host web-01.acme.example is down" in body
    assert "Affected system: web-01.acme.example" in body
    assert "Detected:" in body and "2026-11-23 09:05 UTC" in body
    assert "Priority:" in body and "critical" in body
    assert "Ticket:" in body and "AB-000042" in body
    assert "We will write to you again when the service is restored." in body
    assert "Example MSP" in body
    assert "Restored:" not in body and "Duration:" not in body
    assert body.endswith("\n")


def test_en_restored_with_duration() -> None:
    subject, body = render(
        "restored", EN, facts(resolved_after=timedelta(hours=1, minutes=7, seconds=30)), "Example MSP"
    )
    assert subject == "[Acme Ltd] Service restored: Company website (AB-000042)"
    assert 'Your service "Company website" has been restored.' in body
    assert "Restored:" in body and "2026-11-23 10:12 UTC" in body
    assert "Duration:" in body and "1h 07m" in body
    assert "Priority:" not in body
    assert "AB-000042" in body
    assert "quoting the ticket number" in body


def test_en_affected_again() -> None:
    subject, body = render("affected_again", EN, facts(), "Example MSP")
    assert subject == "[Acme Ltd] Service affected again: Company website (AB-000042)"
    assert "has come back" in body


def test_ru_affected() -> None:
    subject, body = render(
        "affected",
        RU,
        facts(customer="Globex Corporation", service="Corporate e-mail", ticket="AB-000007", priority="high"),
        "Пример MSP",
    )
    assert subject == "[Globex Corporation] Нарушена работа сервиса: Corporate e-mail (AB-000007)"
    assert body.startswith("Здравствуйте, Борис Иванов!\n\n")
    assert "затрагивает ваш сервис «Corporate e-mail»" in body
    assert "Проблема:" in body
    assert "Затронутая система:" in body
    assert "Обнаружена:" in body and "2026-11-23 09:05 UTC" in body
    assert "Приоритет:" in body and "высокий" in body
    assert "Заявка:" in body and "AB-000007" in body
    assert "Пример MSP" in body
    assert "Длительность" not in body


def test_ru_restored_with_duration() -> None:
    subject, body = render(
        "restored", RU, facts(service="File storage (NAS)", resolved_after=timedelta(minutes=4, seconds=5)), "MSP"
    )
    assert subject == "[Acme Ltd] Работа сервиса восстановлена: File storage (NAS) (AB-000042)"
    assert "Работа сервиса «File storage (NAS)» восстановлена." in body
    assert "Восстановлен:" in body and "2026-11-23 09:09 UTC" in body
    assert "Длительность:" in body and "4m 05s" in body
    assert "AB-000042" in body
    assert "Приоритет" not in body


def test_ru_affected_again() -> None:
    subject, body = render("affected_again", RU, facts(), "MSP")
    assert subject.startswith("[Acme Ltd] Снова нарушена работа сервиса:")
    assert "возникла снова" in body


@pytest.mark.parametrize(
    ("priority", "en", "ru"),
    [
        ("critical", "critical", "критический"),
        ("high", "high", "высокий"),
        ("medium", "medium", "средний"),
        ("low", "low", "низкий"),
    ],
)
def test_priorities(priority: str, en: str, ru: str) -> None:
    assert f"Priority:        {en}" in render("affected", EN, facts(priority=priority), "M")[1]
    assert ru in render("affected", RU, facts(priority=priority), "M")[1]


def test_no_service_name() -> None:
    subject, body = render("affected", EN, facts(service=None), "M")
    assert subject == "[Acme Ltd] Service affected: your IT services (AB-000042)"
    subject, body = render("affected", RU, facts(service=None), "M")
    assert "ваши ИТ-сервисы" in subject and "«ваши ИТ-сервисы»" in body


def test_no_host_row_without_a_host() -> None:
    _, body = render("affected", EN, facts(host=""), "M")
    assert "Affected system" not in body


def test_restored_without_a_resolution_time_shows_priority() -> None:
    _, body = render("restored", EN, facts(), "M")
    assert "Duration" not in body and "Priority:" in body


def test_table_is_aligned() -> None:
    _, body = render("restored", EN, facts(resolved_after=timedelta(minutes=5)), "M")
    rows = [
        line
        for line in body.splitlines()
        if line.split(":", 1)[0] in ("Problem", "Affected system", "Detected", "Restored", "Duration", "Ticket")
    ]
    assert len(rows) == 6
    value_columns = {len(r) - len(r.split(": ", 1)[1].lstrip()) for r in rows}
    assert len(value_columns) == 1


def test_unknown_language_falls_back_to_english() -> None:
    c = Curator.model_construct(name="Hans", email="h@example.com", language="de")
    subject, body = render("affected", c, facts(), "M")
    assert subject.startswith("[Acme Ltd] Service affected")
    assert body.startswith("Dear Hans,")


def test_languages_have_the_same_texts() -> None:
    assert set(TEXTS["en"]) == set(TEXTS["ru"])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m 00s"),
        (90, "1m 30s"),
        (3599, "59m 59s"),
        (3600, "1h 00m"),
        (3600 * 26 + 60 * 3, "26h 03m"),
        (-30, "0s"),
    ],
)
def test_duration(seconds: int, text: str) -> None:
    assert _duration(OPENED, OPENED + timedelta(seconds=seconds)) == text


def test_signature_block() -> None:
    _, body = render("affected", EN, facts(), "Example MSP service desk")
    assert (
        "-- \nExample MSP service desk\nThis message was sent automatically by the monitoring of Example MSP "
        "service desk." in body
    )
