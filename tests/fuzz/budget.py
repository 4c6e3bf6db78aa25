"""How much the fuzz tests try (ALERTBRIDGE_FUZZ_EXAMPLES raises it) and where their figures go."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# what each fuzz test tried, by kind of input: printed at the end of the run (tests/fuzz/conftest.py)
TRIED: Counter[str] = Counter()


def examples(default: int) -> int:
    """ALERTBRIDGE_FUZZ_EXAMPLES if set (a whole number >= 1), else `default`."""
    raw = os.environ.get("ALERTBRIDGE_FUZZ_EXAMPLES", "").strip()
    if not raw:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"ALERTBRIDGE_FUZZ_EXAMPLES must be a whole number, not {raw!r}") from None
    if n < 1:
        raise ValueError(f"ALERTBRIDGE_FUZZ_EXAMPLES must be at least 1, not {n}")
    return n


def fuzz_settings(default: int, *, fixtures_reused: bool = False) -> settings:
    """Hypothesis settings for one property: no example database written into the work tree, no deadline
    (timing varies on a loaded machine), the slow-data health checks off for the big payloads, and, with
    `fixtures_reused`, one function-scoped fixture (a running service) shared by all the examples on purpose."""
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    if fixtures_reused:
        checks.append(HealthCheck.function_scoped_fixture)
    return settings(max_examples=examples(default), deadline=None, database=None, suppress_health_check=checks)


def write_figures(name: str, figures: dict[str, Any]) -> Path | None:
    """Print the figures and, with ALERTBRIDGE_RELIABILITY_OUT set, write them to <dir>/<name>.json."""
    text = json.dumps(figures, indent=2, sort_keys=True)
    print(f"\nfuzz figures {name}:\n{text}")
    out = os.environ.get("ALERTBRIDGE_RELIABILITY_OUT")
    if not out:
        return None
    path = Path(out) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path
