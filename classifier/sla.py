"""Service-level deadlines: when reaction and resolution are due, on a 24x7 or business-hours clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from classifier.inventory import Contract

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hm(text: str) -> time | None:
    if text == "24:00":
        return None
    h, m = text.split(":")
    return time(int(h), int(m))


def due(start: datetime, seconds: float, contract: Contract) -> datetime:
    """The moment `seconds` of contract time have passed since `start` (UTC in, UTC out)."""
    if contract.hours == "24x7" or seconds <= 0:
        return start + timedelta(seconds=seconds)
    tz = ZoneInfo(contract.timezone)
    local = start.astimezone(tz)
    left = timedelta(seconds=seconds)
    begin, end = _hm(contract.business_start), _hm(contract.business_end)
    day = local.date()
    for _ in range(3660):  # ten years of calendar: a contract with no business day never ends the loop early
        if DAYS[day.weekday()] in contract.business_days and day not in contract.holidays:
            open_at = datetime.combine(day, begin or time(0), tz)
            close_at = (
                datetime.combine(day + timedelta(days=1), time(0), tz)
                if end is None
                else datetime.combine(day, end, tz)
            )
            frm = max(open_at, local)
            if frm < close_at:
                span = close_at - frm
                if left <= span:
                    return (frm + left).astimezone(UTC)
                left -= span
        day += timedelta(days=1)
    raise ValueError("the contract has no business hours to count")


def deadlines(start: datetime, priority: str, contract: Contract) -> tuple[datetime | None, datetime | None]:
    """(reaction due, resolution due) for an incident of `priority` opened at `start`; None where not agreed."""
    r = contract.reaction.get(priority)  # type: ignore[call-overload]
    s = contract.resolution.get(priority)  # type: ignore[call-overload]
    return (due(start, r, contract) if r is not None else None, due(start, s, contract) if s is not None else None)
