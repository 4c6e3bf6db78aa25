"""Scores the classifier on the labelled corpus: accuracy, service-affecting recall, silent-fault leak.

    .venv/bin/python bench/classification/score.py [--split dev|holdout|all] [--rules FILE] [--errors] [--batch NAME]
                                                   [--by-source] [--write bench/classification/REPORT.md]

Each corpus row is a real alert definition (Zabbix template trigger, Prometheus rule) as its source would
POST it, labelled by meaning (see LABELLING.md). Rows are parsed by the real connectors and classified
with no customer bound, as `alertbridge classify` does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classifier import Classifier, load_pack  # noqa: E402
from connectors import alertmanager, zabbix  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"
PARSERS = {"alertmanager": alertmanager.parse, "zabbix": zabbix.parse}

# The widely used Prometheus rule sets: the exporters' and projects' own rules and mixins, and the
# collections most teams start from.
WIDELY_USED_PROMETHEUS = {
    "samber/awesome-prometheus-alerts",
    "prometheus-operator/kube-prometheus",
    "prometheus-operator/prometheus-operator",
    "monitoring-mixins/website",
    "grafana/jsonnet-libs",
    "grafana/loki",
    "grafana/tempo",
    "etcd-io/etcd",
    "thanos-io/thanos",
    "kubernetes/ingress-nginx",
    "oliver006/redis_exporter",
    "adinhodovic/blackbox-exporter-mixin",
    "adinhodovic/ingress-nginx-mixin",
    "adinhodovic/rabbitmq-mixin",
}
FAMILIES = (
    "official Zabbix templates",
    "Zabbix community templates",
    "widely used Prometheus rule sets",
    "vendors', engineers' and companies' own",
    "written in Russian",
)


def family(row: dict[str, str], batch: str) -> str:
    """Which kind of source a corpus row comes from (the per-source lines of the report)."""
    repo = row["origin"].split("@", 1)[0]
    owner = repo.split("/", 1)[0]
    if batch.startswith("russian"):
        return FAMILIES[4]
    if repo == "zabbix/zabbix":
        return FAMILIES[0]
    if repo == "zabbix/community-templates":
        return FAMILIES[1]
    if repo in WIDELY_USED_PROMETHEUS or owner in ("prometheus", "prometheus-community"):
        return FAMILIES[2]
    return FAMILIES[3]


@dataclass
class Score:
    total: int = 0
    correct: int = 0
    incidents: int = 0
    incidents_found: int = 0
    faults: int = 0
    faults_leaked: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, row: dict[str, str], got: str, rule: str) -> None:
        self.total += 1
        want = row["label"]
        self.correct += want == got
        if want == "incident":
            self.incidents += 1
            self.incidents_found += got == "incident"
        else:
            self.faults += 1
            self.faults_leaked += got == "incident"
        if want != got:
            self.errors.append(
                {"id": row["id"], "want": want, "got": got, "rule": rule, "definition": row.get("definition", "")}
            )

    def line(self, name: str) -> str:
        acc = self.correct / self.total if self.total else 0.0
        rec = self.incidents_found / self.incidents if self.incidents else 1.0
        leak = self.faults_leaked / self.faults if self.faults else 0.0
        return (
            f"| {name} | {self.total} | {acc:.1%} | {rec:.1%} ({self.incidents_found}/{self.incidents}) "
            f"| {leak:.1%} ({self.faults_leaked}/{self.faults}) |"
        )

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def recall(self) -> float:
        return self.incidents_found / self.incidents if self.incidents else 1.0

    @property
    def leak(self) -> float:
        return self.faults_leaked / self.faults if self.faults else 0.0


def rows(split: str, only: list[str] | None = None) -> list[dict[str, str]]:
    out = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        if only and path.stem not in only:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if split == "all" or row.get("split", "dev") == split:
                    row["batch"] = path.stem
                    out.append(row)
    return out


def score(
    split: str = "all", rules: str | None = None, only: list[str] | None = None, by_family: bool = False
) -> dict[str, Score]:
    """Scores for all rows and per webhook source; with `by_family`, per kind of source instead."""
    classifier = Classifier([], load_pack(rules) if rules else load_pack())
    scores: dict[str, Score] = {"all": Score()}
    if by_family:
        scores.update({f: Score() for f in FAMILIES})
    for row in rows(split, only):
        [alert] = PARSERS[row["source"]](row["body"])
        v = classifier.classify(alert)
        second = family(row, row["batch"]) if by_family else row["source"]
        for key in ("all", second):
            scores.setdefault(key, Score()).add(row, v.kind, v.rule)
    return {k: s for k, s in scores.items() if s.total}


def report(splits: dict[str, dict[str, Score]], families: dict[str, Score] | None = None) -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        commit = "?"
    lines = [
        "# Classifier on the labelled corpus",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit} by "
        "`bench/classification/score.py --write`.",
        "",
        "Targets: accuracy >= 95 %, service-affecting recall >= 98 %, silent-fault leak <= 3 %.",
        "",
        "| split / source | rows | accuracy | service-affecting recall | silent faults reaching a customer |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split, scores in splits.items():
        for key, s in scores.items():
            lines.append(s.line(f"{split} / {key}"))
    if families:
        lines += [
            "",
            "## Per kind of source (dev and holdout together)",
            "",
            "| source | rows | accuracy | service-affecting recall | silent faults reaching a customer |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [s.line(key) for key, s in families.items() if key != "all"]
    errs = [e for s in splits.values() for e in s["all"].errors]
    if errs:
        lines += [
            "",
            "## Misclassified rows",
            "",
            "| id | label | classifier | rule | definition |",
            "| --- | --- | --- | --- | --- |",
        ]
        seen = set()
        for e in errs:
            if e["id"] in seen:
                continue
            seen.add(e["id"])
            lines.append(f"| {e['id']} | {e['want']} | {e['got']} | {e['rule']} | {e['definition'][:80]} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--split", default="all", choices=["dev", "holdout", "all"])
    p.add_argument("--rules")
    p.add_argument("--errors", action="store_true", help="list misclassified rows")
    p.add_argument("--batch", action="append", help="only this corpus file (e.g. zabbix6); repeatable")
    p.add_argument("--by-source", action="store_true", help="per kind of source instead of per webhook source")
    p.add_argument("--write", help="write a Markdown report (dev, holdout and all) to this file")
    args = p.parse_args()
    if args.write:
        splits = {s: score(s, args.rules) for s in ("dev", "holdout")}
        text = report(splits, score("all", args.rules, by_family=True))
        Path(args.write).write_text(text, encoding="utf-8")
        print(text)
        return 0
    scores = score(args.split, args.rules, args.batch, args.by_source)
    print("| source | rows | accuracy | service-affecting recall | silent-fault leak |")
    for key, s in scores.items():
        print(s.line(key))
    if args.errors:
        for e in scores["all"].errors:
            print(f"{e['id']}\twant {e['want']}\tgot {e['got']}\t{e['rule']}\t{e['definition'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
