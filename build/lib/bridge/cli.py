"""The `alertbridge` command: serve, migrate, check-config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

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
    from bridge.service import serve, split_listen

    settings = _settings(args.config)
    listen = args.listen or settings.listen
    split_listen(listen)
    if not args.no_migrate:
        rev = migrate(settings.database_url)
        logging.getLogger("alertbridge").info("database schema at revision %s", rev)
    asyncio.run(serve(settings, listen))
    return 0


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
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    m.add_argument("--config", default=os.environ.get("ALERTBRIDGE_CONFIG", DEFAULT_CONFIG))
    m.set_defaults(func=cmd_migrate)

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
    except OSError as exc:
        print(f"alertbridge: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
