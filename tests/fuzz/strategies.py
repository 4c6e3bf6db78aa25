"""Hypothesis strategies shared by the fuzz tests: arbitrary JSON, nasty strings, and mutations of the real
payloads captured from Alertmanager 0.25 and Zabbix 6.0 (tests/fixtures)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from tests.conftest import FIXTURES


def captured(source: str) -> list[Any]:
    """The pretty-printed captured bodies of one source (alertmanager/raw holds the same bodies byte for byte)."""
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / source).glob("*.json"))]


FINDINGS = [
    {
        "customer": "acme",
        "service": "fileserver",
        "host": "acme-db01",
        "title": "Backup job fails every night",
        "description": "ENOSPC on the NAS",
        "engineer": "Ivan Petrov",
        "service_affecting": False,
    },
    {"customer": "globex", "service": "mail", "title": "Очередь почты растёт", "engineer": "Ольга Иванова"},
    {"customer": "acme", "host": "web01.acme", "title": "Site answers 502", "engineer": "A", "status": "resolved"},
    {"customer": "acme", "service": "website", "title": "TLS expires", "engineer": "B", "key": "tls-www"},
]

# -- leaves ----------------------------------------------------------------------------------------------
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_char = st.characters(codec=None) | surrogates | st.sampled_from(["\x00", "\u202e", "\u0301", "\ufeff", "²", "٣"])
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "²",
    "¹²",
    "٣",
    "０",
    "-1",
    "1e400",
    "NaN",
    "0" * 21,
    "9" * 20,
    "{EVENT.ID}",
    "{EVENT.RECOVERY.ID}",
    "*UNKNOWN*",
    "{$MACRO}",
    "firing",
    "resolved",
    "4",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "2026-13-45T25:61:61Z",
    "2026-11-23T23:27:02",
    "2026.11.22",
    "23:09:00",
    "99:99:99",
    "http://[::1",
    "http://x/?g0.expr=%ZZ&g0.expr=up",
    "web01.acme",
    "nas-*.globex.example",
    "Customers/Acme",
    "acme",
    "ACME",
    " Acme Ltd ",
    "globex",
    "website",
    "[]",
    "[{}]",
    '[{"tag": "customer", "value": "acme"}]',
    '[{"tag": 1}]',
    "null",
    "\u202eemca",
    "ß" * 3,
    "İ",
    "🙂" * 4,
]
nasty_text = st.sampled_from(NASTY) | st.text(any_char, max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | nasty_text
)


def json_values(keys: st.SearchStrategy[str] | None = None, max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Any JSON value (as json.loads makes them: NaN and infinities included); `keys` biases object keys."""
    k = (keys | nasty_text) if keys is not None else nasty_text
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=6) | st.dictionaries(k, children, max_size=6),
        max_leaves=max_leaves,
    )


def depth(value: Any) -> int:
    """Nesting depth of a JSON value (iterative: safe on values too deep for recursion)."""
    best = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return best


# mutated bodies stay under this when encoded (a few times the service's 1 MiB limit: some are over it)
MAX_BODY = 4 * 1_048_576


def encoded_size(value: Any) -> int:
    return len(json.dumps(value))


HUGE_LENGTHS = [255, 256, 257, 8192, 8193, 65536, 65537, 300_000]


@st.composite
def huge_text(draw: st.DrawFn) -> str:
    n = draw(st.sampled_from(HUGE_LENGTHS))
    unit = draw(st.sampled_from(["x", "é", "🙂", "\x00", "a b ", "ab\n"]))
    return (unit * (n // len(unit) + 1))[:n]


def nested(value: Any, levels: int, as_dict: bool) -> Any:
    for _ in range(levels):
        value = {"a": value} if as_dict else [value]
    return value


# -- mutations ---------------------------------------------------------------------------------------------
Path = tuple[Any, ...]


def paths(node: Any, here: Path = ()) -> Iterator[Path]:
    yield here
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*here, i))


def get(node: Any, path: Path) -> Any:
    for p in path:
        node = node[p]
    return node


def put(root: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    get(root, path[:-1])[path[-1]] = value
    return root


def retyped(draw: st.DrawFn, value: Any) -> Any:
    """The same value as another JSON type."""
    if isinstance(value, str):
        options: list[Any] = [len(value), float(len(value)), value == "", None, [value], {"value": value}]
        if value.strip().lstrip("-").isdecimal():
            options.append(int(value.strip()))
    elif isinstance(value, bool):
        options = [str(value).lower(), int(value), None, [value]]
    elif isinstance(value, int | float):
        options = [str(value), [value], None, bool(value), {"n": value}]
    elif isinstance(value, list):
        options = [dict(enumerate(map(str, range(len(value))))), json.dumps(value), None, value[:1], {}]
    elif isinstance(value, dict):
        options = [list(value.values()), list(value.keys()), json.dumps(value), None, ""]
    else:
        options = ["", 0, False, [], {}]
    return draw(st.sampled_from(options))


MUTATIONS = ["drop", "replace", "retype", "huge", "unicode", "nul", "nest", "multiply", "add_key", "nasty"]


@st.composite
def mutated(draw: st.DrawFn, bodies: list[Any], keys: st.SearchStrategy[str] | None = None) -> Any:
    """One of `bodies` with one to four mutations applied anywhere in it."""
    body = copy.deepcopy(draw(st.sampled_from(bodies)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(list(paths(body))))
        here = get(body, path)
        op = draw(st.sampled_from(MUTATIONS))
        if op == "drop":
            if path:
                parent = get(body, path[:-1])
                del parent[path[-1]]
            continue
        if op == "replace":
            new: Any = draw(json_values(keys))
        elif op == "retype":
            new = retyped(draw, here)
        elif op == "huge":
            new = draw(huge_text())
            if encoded_size(body) + len(new) * 6 > MAX_BODY:
                continue
        elif op == "unicode":
            new = draw(st.text(any_char, min_size=1, max_size=60))
        elif op == "nul":
            text = here if isinstance(here, str) else draw(nasty_text)
            at = draw(st.integers(min_value=0, max_value=len(text)))
            new = text[:at] + "\x00" + text[at:]
        elif op == "nest":
            # deep (the service refuses JSON nested past 64 levels), but far below Python's recursion limit
            levels = draw(st.integers(min_value=1, max_value=150))
            if depth(body) + levels > 300:
                continue
            new = nested(here, levels, draw(st.booleans()))
        elif op == "multiply":
            if isinstance(here, list) and here:
                times = draw(st.sampled_from([2, 129, 1001]))
                if encoded_size(here) * times > MAX_BODY:
                    continue
                new = here * times
            elif isinstance(here, dict):
                new = {**here, **{f"k{i}": "v" for i in range(draw(st.sampled_from([1, 128, 129])))}}
            else:
                new = [here] * draw(st.integers(min_value=0, max_value=3))
        elif op == "add_key":
            if isinstance(here, dict):
                here[draw(keys | nasty_text if keys is not None else nasty_text)] = draw(json_values(keys))
            continue
        else:  # nasty
            new = draw(st.sampled_from(NASTY))
        body = put(body, path, new)
    return body
