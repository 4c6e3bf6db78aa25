"""Shared helpers that turn pydantic validation failures into `PayloadError`s naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.alert import PayloadError

M = TypeVar("M", bound=BaseModel)


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
