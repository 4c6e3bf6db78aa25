"""The literal pre-check of rule patterns: it may only skip a pattern that cannot match, never change a verdict."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import Classifier, load_pack
from classifier import rules as R
from tests.unit.util import am_alert, zbx_alert

ROOT = Path(__file__).resolve().parents[2]


def test_hints_are_the_words_every_match_contains() -> None:
    assert R._literal_hints(r"\b(vpn|ipsec|tunnel)\b.{0,60}\b(down|lost)\b") == {"down", "lost"}
    assert R._literal_hints(r"almost (full|out of)|nearly (full|exhausted)") == {"almost ", "nearly "}
    assert R._literal_hints(r"\bUPS\b|\bBattery\b") == {"ups", "battery"}  # case-folded
    assert R._literal_hints(r"(disk )+full") == {"disk "}  # a repeat of at least one is mandatory
    # nothing fixed every match must contain: no pre-check
    assert R._literal_hints(r"(?:a|bc)x") is None
    assert R._literal_hints(r"\d+%|(disk)?full") is None
    assert R._literal_hints(r"[a-z]+ down|.{0,5}") is None


def _pack_patterns() -> list[str]:
    return [p for rule in load_pack().rules for d in (rule.when, rule.unless) for ps in d.values() for p in ps]


WORDS = sorted(
    {w for p in _pack_patterns() for w in re.findall(r"[A-Za-z\u0400-\u04ff]{3,}", p)} | {"İ", "ß", "ſ", "K"}
)


# each pattern whole, and each of the parts it is cut into (what the rules search one by one)
_PARTS = [part for p in _pack_patterns() for part in R._alternatives(p)]
_COMPILED = [(re.compile(p, re.IGNORECASE), R._literal_hints(p)) for p in _pack_patterns() + _PARTS]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.sampled_from([" ", ": ", "-", "_", "\n", "100 %", "0"]), max_size=30))
def test_a_pattern_that_matches_always_finds_one_of_its_hints(parts: list[str]) -> None:
    text = "".join(parts)
    folded = text.casefold()
    for p in _COMPILED:
        rx, hints = p
        if hints is not None and len(folded) == len(text) and rx.search(text):
            assert any(h in folded for h in hints), (rx.pattern, text)


def test_a_pattern_is_cut_only_at_its_top_level_bars() -> None:
    assert R._alternatives(r"a|b(c|d)|[|x]|\|e|\\|f") == ["a", "b(c|d)", "[|x]", r"\|e", "\\\\", "f"]
    assert R._alternatives(r"[]|]x|y") == ["[]|]x", "y"]  # a ']' first in a class is a member
    assert R._alternatives(r"[^]|]x|(?:p|q)") == ["[^]|]x", "(?:p|q)"]
    assert R._alternatives(r"[\]|]z|w") == [r"[\]|]z", "w"]  # an escaped ']' does not end the class
    assert R._alternatives("plain") == ["plain"]
    assert len(_PARTS) > len(_pack_patterns())  # the pack's patterns are cut for real


_SAMPLE_WORDS = st.sampled_from(WORDS) | st.sampled_from([" ", "-", "_", "\n", "100 %", "0", "down", "fail"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SAMPLE_WORDS, max_size=30))
def test_the_leftmost_match_of_the_parts_is_the_match_of_the_whole(parts: list[str]) -> None:
    text = "".join(parts)
    for p in _pack_patterns()[::7]:
        whole = re.compile(p, re.IGNORECASE).search(text)
        best = None
        for part in R._alternatives(p):
            m = re.compile(part, re.IGNORECASE).search(text)
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        assert (whole is None) == (best is None), p
        if whole is not None and best is not None:
            assert whole.span() == best.span() and whole.group(0) == best.group(0), p


def test_a_field_that_folds_to_another_length_is_not_pre_checked() -> None:
    f = R._Fields(zbx_alert("İSTANBUL uplink down"), full=False)
    assert f.folded("text") is None  # 'İ' folds to two characters: the regular expression alone decides
    assert R._Fields(zbx_alert("Uplink down"), full=False).folded("text") == "uplink down\nuplink down"


def _load_score() -> object:
    spec = importlib.util.spec_from_file_location("alertbridge_hint_score", ROOT / "bench/classification/score.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["alertbridge_hint_score"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_verdicts_are_the_same_with_and_without_the_pre_check(monkeypatch: pytest.MonkeyPatch) -> None:
    score = _load_score()
    rows = score.rows("all")[::5]  # type: ignore[attr-defined]
    alerts = [score.PARSERS[r["source"]](r["body"])[0] for r in rows]  # type: ignore[attr-defined]
    alerts += [
        am_alert("UplinkDown", "İSTANBUL uplink is down", severity="critical"),
        zbx_alert("Disk ſpace is low on /var"),
    ]

    def verdicts() -> list[tuple[str, str, str, tuple[str, ...]]]:
        c = Classifier([], load_pack())
        out = []
        for a in alerts:
            v = c.classify(a)
            out.append((v.kind, v.rule, v.reason, v.trace))  # the trace holds the text each rule matched
        return out

    with_hints = verdicts()
    # each field's patterns as one regular expression, searched whole, with no pre-check
    monkeypatch.setattr(R, "_literal_hints", lambda pattern: None)
    monkeypatch.setattr(R, "_alternatives", lambda pattern: [pattern])
    monkeypatch.setattr(R, "_split", lambda field, ps: ((re.compile("|".join(f"(?:{p})" for p in ps), re.I), None),))
    without = verdicts()
    assert len(with_hints) > 1000
    assert with_hints == without


def test_a_letter_that_folds_to_two_is_no_hint() -> None:
    # 'İ' folds to 'i' + a combining dot, while the regular expression also matches a plain 'i' with it
    assert R._literal_hints("İstanbul") == {"stanbul"}
    assert re.search("İstanbul", "istanbul", re.IGNORECASE)
