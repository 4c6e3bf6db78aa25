"""Fails (exit 1) if a pytest JUnit report ran no test, or skipped a test that had to run.

--require-marker postgres: tests whose id carries [postgres] must exist and none may be skipped.
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("report")
    p.add_argument("--require-marker", action="append", default=[])
    args = p.parse_args()
    cases = list(ET.parse(args.report).getroot().iter("testcase"))
    ran = [c for c in cases if c.find("skipped") is None]
    print(f"{args.report}: {len(cases)} tests, {len(ran)} ran, {len(cases) - len(ran)} skipped")
    if not ran:
        print("no test ran", file=sys.stderr)
        return 1
    status = 0
    for marker in args.require_marker:
        tagged = [
            c
            for c in cases
            if f"[{marker}" in c.get("name", "")
            or f"-{marker}" in c.get("name", "")
            or c.get("name", "").endswith(f"_{marker}")
        ]
        skipped = [c for c in tagged if c.find("skipped") is not None]
        if not tagged:
            print(f"no {marker} test found", file=sys.stderr)
            status = 1
        for c in skipped:
            msg = c.find("skipped").get("message", "")  # type: ignore[union-attr]
            print(f"{marker} test skipped: {c.get('classname')}::{c.get('name')}: {msg}", file=sys.stderr)
            status = 1
        print(f"{marker}: {len(tagged)} tests, {len(skipped)} skipped")
    return status


if __name__ == "__main__":
    sys.exit(main())
