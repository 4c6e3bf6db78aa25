"""Assembles the running service from a configuration: store, pipeline, outbox, HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
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


async def serve(settings: Settings, listen: str, sock: socket.socket | None = None) -> None:
    """Run the service until SIGTERM or SIGINT; with `sock`, as one of several workers sharing it."""
    host, port = split_listen(listen)
    svc = assemble(settings)
    if settings.maintenance:
        added = await svc.pipeline.sync_maintenance(list(settings.maintenance))
        log.info("maintenance windows from the config: %d new", added)
    runner = web.AppRunner(svc.app, access_log=None, handle_signals=False)
    await runner.setup()
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock)
    else:
        site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    svc.dispatcher.start()
    svc.sla.start()
    if not svc.dispatcher.mailer.configured:
        log.warning("no SMTP server configured (ALERTBRIDGE_SMTP_URL): curator notices stay queued in the outbox")
    log.info("alertbridge listening on http://%s:%d (database %s)", host, port, svc.db.dialect)
    _release_startup_memory()
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


def _release_startup_memory() -> None:
    """Hand back to the system what loading the configuration and the modules left free (glibc keeps freed
    heap otherwise): a few MB of the idle footprint."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _die_with_parent() -> None:
    """Linux: this process gets SIGTERM when the process that forked it dies (even by kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: a supervisor must stop the workers
        pass


def _worker(settings: Settings, listen: str, sock: socket.socket) -> int:
    _die_with_parent()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    try:
        asyncio.run(serve(settings, listen, sock))
    except Exception:
        log.exception("worker %d stopped on an error", os.getpid())
        return 1
    return 0


def serve_workers(settings: Settings, listen: str, workers: int) -> int:
    """`workers` server processes on one listening socket, each a replica of the others on the shared
    PostgreSQL database (the kernel spreads connections among them). A worker that dies is started again;
    SIGTERM or SIGINT stops them all, each finishing what it has in hand."""
    from prometheus_client import multiprocess

    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
    sock.set_inheritable(True)
    log.info("alertbridge: %d workers on http://%s:%d", workers, host, port)
    children: dict[int, float] = {}  # pid -> started (monotonic)
    stopping = False

    def start() -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _worker(settings, listen, sock)
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = time.monotonic()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for _ in range(workers):
        start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if started is None:
            continue
        multiprocess.mark_process_dead(pid)
        if stopping:
            continue
        code = 1
        log.error("worker %d ended (%s); starting another", pid, _how(status))
        if time.monotonic() - started < 5:  # dying at start (database away?): do not spin
            time.sleep(5)
        if not stopping:
            start()
    sock.close()
    log.info("alertbridge stopped")
    return 0 if stopping else code


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
