"""Durations written as seconds or as '90s', '15m', '1h30m', '2d'."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like '3600', '90s', '15m', '1h30m', '2d'."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '15m', '1h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        if value.strip().isdigit():
            return float(value.strip())
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(x or 0) for x in m.groups())
            return float(((d * 24 + h) * 60 + mi) * 60 + s)
    raise ValueError(f"bad duration {value!r}: use seconds or a string like '90s', '15m', '1h30m', '2d'")
