"""Assembles the running service from a configuration: store, pipeline, outbox, HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

from bridge.app import build_app
from bridge.config import Settings
from bridge.db import Database
from bridge.desk import builtin_desk
from bridge.mailer import Mailer
from bridge.metrics import Metrics
from bridge.outbox import Dispatcher, depth
from bridge.pipeline import Pipeline
from bridge.remote import RemoteDesks
from bridge.timers import TimedWork
from bridge.zabbix_api import ZabbixClient
from classifier import Classifier, load_pack

log = logging.getLogger("alertbridge")


@dataclass
class Service:
    settings: Settings
    db: Database
    pipeline: Pipeline
    dispatcher: Dispatcher
    sla: TimedWork
    metrics: Metrics
    app: web.Application


def assemble(settings: Settings) -> Service:
    db = Database(settings.database_url)
    metrics = Metrics()
    desk = builtin_desk(settings)
    remote = RemoteDesks(settings, db) if settings.desks else None
    classifier = Classifier(settings.customers, load_pack(), settings.classifier)
    pipeline = Pipeline(db, settings, classifier, desk)
    zabbix = ZabbixClient(settings.zabbix) if settings.zabbix.enabled else None
    dispatcher = Dispatcher(
        db, settings.outbox, Mailer(settings.mail), desk, metrics, settings.system_requester, remote, zabbix
    )
    sla = TimedWork(
        db,
        desk,
        metrics,
        settings.system_requester,
        settings.lifecycle.sla_check_interval,
        settings.lifecycle.auto_close_after,
        pipeline,
        zabbix,
        settings.zabbix.reconcile_interval,
    )
    metrics.set_outbox_probe(lambda: depth(db))
    app = build_app(settings, db, pipeline, metrics, dispatcher, sla)
    return Service(settings, db, pipeline, dispatcher, sla, metrics, app)


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen address must be HOST:PORT, not {listen!r}")
    return host.strip("[]"), int(port)


async def serve(settings: Settings, listen: str) -> None:
    host, port = split_listen(listen)
    svc = assemble(settings)
    if settings.maintenance:
        added = await svc.pipeline.sync_maintenance(list(settings.maintenance))
        log.info("maintenance windows from the config: %d new", added)
    runner = web.AppRunner(svc.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    svc.dispatcher.start()
    svc.sla.start()
    if not svc.dispatcher.mailer.configured:
        log.warning("no SMTP server configured (ALERTBRIDGE_SMTP_URL): curator notices stay queued in the outbox")
    log.info("alertbridge listening on http://%s:%d (database %s)", host, port, svc.db.dialect)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: finishing requests and deliveries in hand")
    await site.stop()
    await svc.dispatcher.stop()
    if svc.dispatcher.remote is not None:
        await svc.dispatcher.remote.close()
    await svc.sla.stop()
    await runner.cleanup()
    await svc.db.dispose()
