"""Shared helpers that turn pydantic validation failures into `PayloadError`s naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from connectors.alert import PayloadError

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 64  # JSON nesting: alert payloads need a handful of levels


def in_utc_range(value: datetime) -> datetime:
    """A time with a zone must exist in UTC too ('0001-01-01T00:30:00+01:00' does not)."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("the time is outside the range UTC can express") from None
    return value


# a datetime that can be converted to UTC (stored and compared in UTC)
UtcDatetime = Annotated[datetime, AfterValidator(in_utc_range)]


def ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also passes '²' and '١', which int() refuses or reads as another number."""
    return text.isascii() and text.isdigit()


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a JSON value nests deeper than `limit` (iterative, so any depth is safe to ask about)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, d = stack.pop()
        if d > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return False


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_model(model: type[M], data: Any) -> M:
    """Validate `data` against `model`, raising a PayloadError that names the first bad field."""
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object", "")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(tuple(first["loc"]))
        msg = first["msg"]
        more = len(exc.errors()) - 1
        text = f"{where or 'body'}: {msg}" + (f" (and {more} more problem(s))" if more > 0 else "")
        raise PayloadError(text, where) from None
