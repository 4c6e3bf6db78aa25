"""The `alertbridge` command: serve, migrate, check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bridge.config import ConfigError, Settings, load
from bridge.db import DatabaseURLError, migrate

DEFAULT_CONFIG = "config/example.yaml"


def _settings(path: str, quiet: bool = False) -> Settings:
    settings, warnings = load(path)
    if not quiet:
        for w in warnings:
            logging.getLogger("alertbridge.config").warning("%s", w)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    workers = args.workers or settings.workers
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise ConfigError(f"workers: {workers} needs PostgreSQL; the embedded SQLite database takes one worker")
    with _metrics_dir() if workers > 1 else contextlib.nullcontext():
        from bridge.service import serve, serve_workers, split_listen

        listen = args.listen or settings.listen
        split_listen(listen)
        if not args.no_migrate:
            rev = migrate(settings.database_url)
            logging.getLogger("alertbridge").info("database schema at revision %s", rev)
        if workers > 1:
            return serve_workers(settings, listen, workers)
        asyncio.run(serve(settings, listen))
    return 0


@contextlib.contextmanager
def _metrics_dir() -> Iterator[None]:
    """Several workers count in files of PROMETHEUS_MULTIPROC_DIR and /metrics adds them up. It must be set
    before prometheus_client is imported and hold no files of an earlier run; one made here is removed after."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(given or tempfile.mkdtemp(prefix="alertbridge-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    for stale in path.glob("*.db"):
        stale.unlink()
    try:
        yield
    finally:
        for used in path.glob("*.db"):
            used.unlink(missing_ok=True)
        if not given:
            path.rmdir()


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    rev = migrate(settings.database_url)
    print(f"database at revision {rev}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    settings, warnings = load(args.config)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    services = sum(len(c.services) for c in settings.customers)
    print(
        f"{args.config}: OK ({len(settings.customers)} customers, {services} services, {len(settings.tokens)} tokens)"
    )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify webhook bodies as their source would POST them; prints one JSON object per alert."""
    import json

    from classifier import Classifier, ClassifierSettings, load_pack
    from connectors import alertmanager, zabbix
    from connectors.alert import PayloadError

    parse = {"alertmanager": alertmanager.parse, "zabbix": zabbix.parse}[args.source]
    if args.config:
        settings = _settings(args.config, quiet=True)
        customers, csettings = settings.customers, settings.classifier
    else:
        customers, csettings = [], ClassifierSettings()
    pack = load_pack(args.rules) if args.rules else load_pack()
    classifier = Classifier(customers, pack, csettings)
    stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    with stream:
        text = stream.read()
    documents = [ln for ln in text.splitlines() if ln.strip()] if args.jsonl else [text]
    failures = 0
    for n, doc in enumerate(documents, start=1):
        where = f"line {n}" if args.jsonl else args.file
        try:
            alerts = parse(json.loads(doc))
        except (ValueError, PayloadError) as exc:
            failures += 1
            message = exc.message if isinstance(exc, PayloadError) else f"not valid JSON: {exc}"
            print(json.dumps({"error": "invalid_payload", "where": where, "message": message}, ensure_ascii=False))
            continue
        for a in alerts:
            v = classifier.classify(a)
            out = {"alert": a.name, "title": a.title, **v.as_dict()}
            print(json.dumps(out, ensure_ascii=False))
    if failures:
        print(f"alertbridge: {failures} of {len(documents)} bodies could not be read", file=sys.stderr)
        return 1
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    import json

    from bridge.db import Database
    from bridge.inspect import explain

    settings = _settings(args.config, quiet=True)

    async def run() -> dict[str, object] | None:
        db = Database(settings.database_url)
        try:
            return await explain(db, args.incident)
        finally:
            await db.dispose()

    out = asyncio.run(run())
    if out is None:
        print(f"alertbridge: no incident {args.incident}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    for key in ("incident", "title", "kind", "customer", "service", "rule", "reason", "binding", "priority"):
        print(f"{key + ':':10} {out[key]}")
    print("trace:")
    for step in out["trace"]:  # type: ignore[attr-defined]
        print(f"  - {step}")
    for key in ("deadlines", "alerts", "links"):
        print(f"{key}: {json.dumps(out[key], ensure_ascii=False)}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from bridge.db import Database
    from bridge.inspect import replay
    from classifier import Classifier, load_pack

    settings = _settings(args.config, quiet=True)
    try:
        since = datetime.fromisoformat(args.since)
    except ValueError:
        print(
            f"alertbridge: --since must be a date or time (2026-11-20, 2026-11-20T08:00), not {args.since!r}",
            file=sys.stderr,
        )
        return 2
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    classifier = Classifier(
        settings.customers, load_pack(args.rules) if args.rules else load_pack(), settings.classifier
    )

    async def run() -> list[dict[str, object]]:
        db = Database(settings.database_url)
        try:
            return await replay(db, settings, classifier, since)
        finally:
            await db.dispose()

    changes = asyncio.run(run())
    for c in changes:
        print(json.dumps(c, ensure_ascii=False))
    print(f"alertbridge: {len(changes)} stored incident(s) would be classified differently", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="alertbridge", description="Monitoring alerts in, service-desk incidents out.")
    p.add_argument(
        "--log-level",
        default=os.environ.get("ALERTBRIDGE_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the HTTP service (migrates the database first)")
    s.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    s.add_argument("--listen", help="HOST:PORT (default: the config's listen)")
    s.add_argument("--no-migrate", action="store_true", help="do not migrate the database on start")
    s.add_argument(
        "--workers",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="server processes (default: the config's workers)",
    )
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    m.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    m.set_defaults(func=cmd_migrate)

    k = sub.add_parser("classify", help="classify webhook bodies (as the source would POST them); changes nothing")
    k.add_argument("--config", help="service configuration, to bind alerts to customers and services")
    k.add_argument("--source", required=True, choices=["alertmanager", "zabbix"])
    k.add_argument("--rules", help="a rule pack file to use instead of the shipped one")
    k.add_argument("--jsonl", action="store_true", help="one body per line")
    k.add_argument("file", help="file with the body, or - for standard input")
    k.set_defaults(func=cmd_classify)

    e = sub.add_parser("explain", help="why a stored incident was classified as it was")
    e.add_argument("incident", type=int)
    e.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_explain)

    r = sub.add_parser("replay", help="re-classify stored alerts with another rule pack; prints what would change")
    r.add_argument("--since", required=True, help="date or time (UTC unless given), e.g. 2026-11-20")
    r.add_argument("--rules", help="a rule pack file (default: the shipped pack)")
    r.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    r.set_defaults(func=cmd_replay)

    c = sub.add_parser("check-config", help="validate a configuration file")
    c.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    c.set_defaults(func=cmd_check_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"alertbridge: {exc}", file=sys.stderr)
        return 2
    except (DatabaseURLError, ValueError) as exc:
        print(f"alertbridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:
        print(f"alertbridge: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
