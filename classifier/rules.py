"""Rule packs: ordered, data-defined rules that say what an alert means (incident or silent fault)."""

from __future__ import annotations

import re
import re._constants as _c  # the parser the re module itself uses (the public sre_* names are deprecated)
import re._parser as _sre_parser
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from connectors.alert import Alert, uncommented

Level = Literal["high", "medium", "low"]
Kind = Literal["incident", "fault"]
FIELDS = (
    "text",
    "name",
    "title",
    "description",
    "item_key",
    "item_name",
    "expression",
    "severity",
    "host",
    "source",
    "opdata",
)
Patterns = list[str]
_REPEATS = tuple(getattr(_c, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_c, name))


class _Fields:
    """The values of an alert's fields that rules read, each built once for all the rules of a pass."""

    __slots__ = ("_folded", "_present", "_seen", "alert", "full")

    def __init__(self, alert: Alert, full: bool) -> None:
        self.alert, self.full = alert, full
        self._seen: dict[str, str] = {}
        self._folded: dict[str, str | None] = {}
        self._present: dict[str, tuple[int, frozenset[str]]] = {}

    def __getitem__(self, field: str) -> str:
        value: str | None = self._seen.get(field)
        if value is None:
            value = self._seen[field] = _field_value(self.alert, field, self.full)
        return value

    def folded(self, field: str) -> str | None:
        """The field case-folded, for the literal pre-check; None when folding changed its length (a few
        characters fold to two, where the pre-check could miss what the regular expression finds)."""
        try:
            return self._folded[field]
        except KeyError:
            pass
        value = self[field]
        folded = value.casefold()
        self._folded[field] = result = folded if len(folded) == len(value) else None
        return result

    def present(self, field: str) -> frozenset[str] | None:
        """Which of the strings any compiled rule looks for in `field` are in it (None: no pre-check)."""
        known = _HINTS.setdefault(field, set())
        seen = self._present.get(field)
        if seen is not None and seen[0] == len(known):
            return seen[1]
        folded = self.folded(field)
        if folded is None:
            return None
        found = frozenset(h for h in known.copy() if h in folded)
        self._present[field] = (len(known), found)
        return found


# every string a compiled rule's pre-check looks for, per field (grows as rules are compiled, never shrinks)
_HINTS: dict[str, set[str]] = {}


def _literal_hints(pattern: str) -> frozenset[str] | None:
    """Strings (case-folded) one of which every match of `pattern` contains, or None when there are none.

    Rules are long alternations matched against every alert; most fail, and most fail because none of the
    words they look for is there. `"word" in text` answers that far faster than the regular expression,
    which then runs only when one of the words is present. Only the parts of the pattern every match must
    go through are used (literal runs, groups, alternations whose every branch has hints, repeats of at
    least one); anything else gives None, and the regular expression alone decides."""
    try:
        parsed = _sre_parser.parse(pattern, re.IGNORECASE)
        hints = _sequence_hints(list(parsed))
    except Exception:  # an unknown construct in a later Python: no pre-check, never a wrong answer
        return None
    if hints is None or any(len(h) < 2 for h in hints):
        return None
    return frozenset(hints)


def _sequence_hints(items: list[tuple[Any, Any]]) -> set[str] | None:
    best: set[str] | None = None
    run: list[str] = []

    def consider(hints: set[str] | None) -> None:
        nonlocal best
        if hints is not None and (best is None or _selectivity(hints) > _selectivity(best)):
            best = hints

    def flush() -> None:
        if run:
            consider({"".join(run)})
            run.clear()

    for op, arg in items:
        if op is _c.LITERAL and len(folded := chr(arg).casefold()) == 1:
            run.append(folded)
            continue
        flush()
        if op is _c.SUBPATTERN:
            consider(_sequence_hints(list(arg[-1])))
        elif op is _c.BRANCH:
            branches = [_sequence_hints(list(b)) for b in arg[1]]
            if all(b is not None for b in branches):
                consider(set().union(*(b for b in branches if b is not None)))
        elif op in _REPEATS and arg[0] >= 1:
            consider(_sequence_hints(list(arg[2])))
        # anything else (\b, classes, '.', lookarounds, a letter that folds to two) matches no fixed text here
    flush()
    return best


def _selectivity(hints: set[str]) -> int:
    return min(len(h) for h in hints) * 10 - len(hints)


def _field_value(alert: Alert, field: str, full: bool) -> str:
    if field == "text":
        return alert.text() if full else alert.headline()
    if field.startswith("label."):
        return alert.labels.get(field[6:], "")
    if field.startswith("tag."):
        return alert.tags.get(field[4:], "")
    if field.startswith("annotation."):
        return alert.annotations.get(field[11:], "")
    if field == "expression":
        return uncommented(alert.expression)
    return str(getattr(alert, field, "") or "")


# one alternative of a field's patterns: its regular expression and the strings one of which it needs
_Alt = tuple["re.Pattern[str]", frozenset[str] | None]
_Check = tuple[str, tuple[_Alt, ...]]


def _alternatives(pattern: str) -> list[str]:
    """`pattern` cut at its top-level `|` (outside groups, classes and escapes). Searching each part and
    keeping the leftmost match (the earlier part on a tie) finds exactly what the whole pattern finds."""
    parts: list[str] = []
    depth, start, i, n = 0, 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _split(field: str, patterns: Patterns) -> tuple[_Alt, ...]:
    """A field's patterns as separate alternatives, each with its own literal pre-check, so that only the
    parts whose words are in the alert are searched."""
    out: list[_Alt] = []
    for p in patterns:
        parts = _alternatives(p)
        try:
            compiled = [re.compile(part, re.IGNORECASE) for part in parts]
        except re.error:  # not cut where it looked cuttable: the pattern whole
            parts, compiled = [p], [re.compile(p, re.IGNORECASE)]
        for part, rx in zip(parts, compiled, strict=True):
            hints = _literal_hints(part)
            if hints is not None:
                _HINTS.setdefault(field, set()).update(hints)
            out.append((rx, hints))
    return tuple(out)


class Rule(BaseModel):
    """One rule: `when` every listed field matches one of its patterns and no `unless` field matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=128)]
    kind: Kind
    reason: str
    impact: Level = "medium"
    urgency: Level = "medium"
    sources: list[str] | None = None
    member_down: bool = False  # the alert says a thing is down: one member of a redundant set, if it is one
    when: dict[str, Patterns] = Field(min_length=1)
    unless: dict[str, Patterns] = Field(default_factory=dict)

    @field_validator("when", "unless", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: [p] if isinstance(p, str) else p for k, p in v.items()}
        return v

    @field_validator("when", "unless")
    @classmethod
    def _compile_check(cls, v: dict[str, Patterns]) -> dict[str, Patterns]:
        for field, patterns in v.items():
            if field not in FIELDS and not field.startswith(("label.", "tag.", "annotation.")):
                raise ValueError(
                    f"unknown field {field!r}; use one of {', '.join(FIELDS)}, label.X, tag.X, annotation.X"
                )
            for p in patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"{field}: bad regular expression {p!r}: {exc}") from None
        return v

    @cached_property
    def _compiled(self) -> tuple[list[_Check], list[_Check]]:
        def comp(d: dict[str, Patterns]) -> list[_Check]:
            return [(f, _split(f, ps)) for f, ps in d.items()]

        return comp(self.when), comp(self.unless)

    def matches(self, alert: Alert, full: bool = True) -> str | None:
        """The text that made the rule match, or None; `full=False` reads only the alert's headline."""
        return self._match(_Fields(alert, full))

    def _match(self, fields: _Fields) -> str | None:
        if self.sources and fields.alert.source not in self.sources:
            return None
        when, unless = self._compiled
        hit = ""
        for field, alts in when:
            value, present = fields[field], fields.present(field)
            best: re.Match[str] | None = None
            for rx, pre in alts:
                if pre is not None and present is not None and pre.isdisjoint(present):
                    continue  # none of the words this part needs is there: it cannot match
                m = rx.search(value)
                if m is not None and (best is None or m.start() < best.start()):
                    best = m
                    if hit or not m.start():
                        break  # only whether it matches counts now, or nothing can start further left
            if best is None:
                return None
            hit = hit or best.group(0)
        for field, alts in unless:
            value, present = fields[field], fields.present(field)
            for rx, pre in alts:
                if pre is not None and present is not None and pre.isdisjoint(present):
                    continue
                if rx.search(value):
                    return None
        return hit or "(matched)"


class RulePack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    rules: list[Rule]


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    matched: str


def first_match(rules: list[Rule] | tuple[Rule, ...], alert: Alert) -> Verdict | None:
    """The first rule matching the alert's headline; failing that, the first matching everything it carries."""
    for full in (False, True):
        fields = _Fields(alert, full)
        for rule in rules:
            hit = rule._match(fields)
            if hit is not None:
                return Verdict(rule, hit)
    return None


def load_pack(path: str | Path | None = None) -> RulePack:
    """The default rule pack shipped with alertbridge, or the pack in `path`."""
    if path is None:
        text = resources.files("classifier").joinpath("rules/default.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return RulePack.model_validate(yaml.safe_load(text))
