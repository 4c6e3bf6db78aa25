"""Contract clocks: 24x7 and business hours with time zones, weekends and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from classifier.inventory import Contract
from classifier.sla import deadlines, due

MSK = {"hours": "business", "timezone": "Europe/Moscow", "business_start": "09:00", "business_end": "18:00"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_24x7_is_plain_addition() -> None:
    c = Contract(reaction={"high": "30m"}, resolution={"high": "8h"})
    assert deadlines(utc(2026, 11, 28, 23, 50), "high", c) == (utc(2026, 11, 29, 0, 20), utc(2026, 11, 29, 7, 50))
    assert deadlines(utc(2026, 11, 28, 23, 50), "low", c) == (None, None)


@pytest.mark.parametrize(
    ("start", "seconds", "expected"),
    [
        (utc(2026, 11, 24, 7, 0), 3600, utc(2026, 11, 24, 8, 0)),  # Tue 10:00 MSK + 1h
        (utc(2026, 11, 24, 3, 0), 3600, utc(2026, 11, 24, 7, 0)),  # Tue 06:00 MSK: the clock starts at 09:00
        (utc(2026, 11, 27, 14, 30), 3600, utc(2026, 11, 30, 6, 30)),  # Fri 17:30 MSK: 30m Fri + 30m Mon
        (utc(2026, 11, 28, 10, 0), 3600, utc(2026, 11, 30, 7, 0)),  # Saturday: Monday 10:00 MSK
        (utc(2026, 11, 24, 7, 0), 9 * 3600, utc(2026, 11, 25, 7, 0)),  # a whole business day
    ],
)
def test_business_hours(start: datetime, seconds: int, expected: datetime) -> None:
    assert due(start, seconds, Contract(**MSK)) == expected


def test_holidays_and_round_the_clock_days() -> None:
    c = Contract(**{**MSK, "holidays": [date(2026, 11, 30)]})
    assert due(utc(2026, 11, 27, 14, 30), 3600, c) == utc(2026, 12, 1, 6, 30)  # Monday is a holiday
    weekend = Contract(hours="business", business_days=["sat", "sun"], business_start="00:00", business_end="24:00")
    assert due(utc(2026, 11, 27, 12, 0), 2 * 3600, weekend) == utc(2026, 11, 28, 2, 0)


def test_contract_validation() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Contract(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="before"):
        Contract(hours="business", business_start="18:00", business_end="09:00")
    with pytest.raises(ValidationError):
        Contract(reaction={"urgent": "1h"})
    assert Contract(reaction={"high": 90}).reaction["high"] == 90.0
