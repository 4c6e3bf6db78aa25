"""A real Zabbix 6.0 (server, PostgreSQL, frontend API; tests/e2e/zabbix/zabbix.sh) and a running alertbridge,
both ways: Zabbix's webhook (alertbridge's own media type, imported) opens incidents, and alertbridge writes
back through Zabbix's API (config section `zabbix:`): it acknowledges each problem with the ticket number
and reconciles open problems with its incidents.

Users in Zabbix: Admin (the engineer), `alertbridge` (alertbridge's API user) and `alertbridge-webhook`,
who owns the media. Zabbix never notifies the user who made an update, so the media belongs to neither of
the others: alertbridge's own acknowledgement echoes back as an update webhook, as Admin's does.

1. write-back: a problem -> an incident with a ticket; the problem acknowledged by `alertbridge` with the
   ticket number and tagged __alertbridge_ticket; the echo of that acknowledgement adds nothing to the
   ticket; Admin's acknowledgement ("looking") adds an internal article and puts the incident in progress;
   the recovery resolves it.
2. reconcile: a problem and later its recovery that Zabbix could not deliver (alertbridge down, the alerts
   fail) are picked up by reconcile (every 10 s) once alertbridge runs again.

Without Zabbix's Debian packages (tests/e2e/apt-packages.txt) the tests skip, or fail when
ALERTBRIDGE_E2E_REQUIRE=1. Bring-up takes about 20-25 s; the module about 2-3 minutes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import CONFIG, Alertbridge, Mailbox, free_port, wait_for
from tests.e2e.zabbix_api import (
    ACK_ACKNOWLEDGE,
    ACK_MESSAGE,
    ALERT_FAILED,
    ALERT_SENT,
    TrapperHost,
    ZabbixE2E,
    ZabbixServer,
    free_server_port,
    missing_packages,
)

pytestmark = pytest.mark.e2e

GROUP = "Customers/Acme"  # example.yaml binds acme by this host group and by the host tag customer=acme
AB_USER, AB_PASSWORD = "alertbridge", "Bridge-Secret-9z!"  # Zabbix refuses passwords containing the username
MEDIA_USER, MEDIA_PASSWORD = "alertbridge-webhook", "Notify-Secret-9z!"
RECONCILE = 10.0  # reconcile_interval in alertbridge's config, seconds
WAIT = 40.0


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zabbix_server() -> Iterator[ZabbixServer]:
    missing = missing_packages()
    if importlib.util.find_spec("zabbix_utils") is None:
        missing.append("zabbix-utils (PyPI, the dev extra)")
    if missing:
        message = (
            f"Zabbix 6.0 is not installed: {', '.join(missing)}; install the Debian packages listed in "
            "tests/e2e/apt-packages.txt (bash tests/e2e/install_peers.sh as root)"
        )
        if os.environ.get("ALERTBRIDGE_E2E_REQUIRE") == "1":
            pytest.fail(message + " (ALERTBRIDGE_E2E_REQUIRE=1)", pytrace=False)
        pytest.skip(message)
    # PostgreSQL (user postgres) and zabbix_server (user zabbix) must reach it: not under pytest's 0700 dirs.
    home = Path(tempfile.mkdtemp(prefix="alertbridge-zabbix-"))
    home.chmod(0o755)
    server = ZabbixServer(home, web_port=free_port(), server_port=free_server_port(), pg_port=free_port())
    try:
        server.start()
        print(f"\nZabbix up in {server.startup_seconds:.1f} s at {server.url} ({home})")
        yield server
    finally:
        print(f"\nzabbix_server log (tail of {server.log_path}):\n{server.tail(40)}")
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class ZabbixSide:
    z: ZabbixE2E
    groupid: str
    mediatypeid: str
    ab_userid: str
    media_userid: str
    actionid: str


@pytest.fixture(scope="module")
def zabbix(zabbix_server: ZabbixServer) -> ZabbixSide:
    """Zabbix configured for alertbridge: users, media type (pointed at alertbridge per test), action."""
    z = ZabbixE2E(zabbix_server)
    groupid = z.create_host_group(GROUP)
    ab_userid = z.create_user(AB_USER, AB_PASSWORD)
    media_userid = z.create_user(MEDIA_USER, MEDIA_PASSWORD)
    mediatypeid = z.import_mediatype("http://127.0.0.1:9/api/v1/zabbix", "unset")
    z.give_media(media_userid, mediatypeid)
    actionid = z.create_action("alertbridge", groupid, mediatypeid, media_userid)
    return ZabbixSide(z, groupid, mediatypeid, ab_userid, media_userid, actionid)


def alertbridge_config(path: Path, zabbix_url: str) -> Path:
    """config/example.yaml with its `zabbix:` section pointing at this Zabbix as user alertbridge."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["zabbix"] = {
        "url": zabbix_url,
        "user": AB_USER,
        "password": AB_PASSWORD,
        "acknowledge": True,
        "reconcile_interval": f"{RECONCILE:g}s",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def acme_host(zabbix: ZabbixSide) -> Iterator[Callable[[str, str], TrapperHost]]:
    """Makes an acme host (group Customers/Acme, tag customer=acme) with a trapper item and a trigger, ready
    for values; its problem is recovered afterwards, so a failed test leaves nothing open for the next."""
    made: list[TrapperHost] = []

    def make(host: str, trigger: str) -> TrapperHost:
        h = zabbix.z.create_trapper_host(host, [zabbix.groupid], tags={"customer": "acme"}, trigger=trigger)
        made.append(h)
        zabbix.z.wait_trapper_ready(h.host, h.key)
        return h

    yield make
    for h in made:
        zabbix.z.push(h.host, h.key, 0)


@pytest.fixture
def alertbridge(
    zabbix: ZabbixSide, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alertbridge]:
    """An alertbridge (not started) that Zabbix's media type points at."""
    workdir = tmp_path_factory.mktemp("alertbridge")
    config = alertbridge_config(workdir / "config.yaml", zabbix.z.url)
    ab = Alertbridge(workdir, smtp_url=mailbox.url, config=config)
    zabbix.z.point_mediatype(zabbix.mediatypeid, f"{ab.url}/api/v1/zabbix", ab.tokens["ALERTBRIDGE_TOKEN_ZABBIX"])
    zabbix.z.server.reload_config_cache()
    try:
        yield ab
    finally:
        code = ab.stop()
        print(f"\nalertbridge (exit status {code}) log (tail of {ab.log_path}):\n{ab.tail(80)}")


# -- helpers -------------------------------------------------------------------------------------------
def problem_event(z: ZabbixE2E, triggerid: str) -> dict[str, Any]:
    """The trigger's newest problem event, once it exists."""

    def newest() -> dict[str, Any]:
        found = z.problem_events(triggerid)
        return found[0] if found else {}

    return wait_for(f"a problem event of trigger {triggerid}", newest, timeout=30)


def incident_of(ab: Alertbridge, host: str, with_ticket: bool = True) -> dict[str, Any]:
    """The one incident (or fault) of this host, if there is one (with its ticket); {} if not."""
    found = [i for i in ab.incidents(customer="acme")["incidents"] if i["host"] == host]
    assert len(found) <= 1, found
    if found and (found[0]["ticket"] or not with_ticket):
        return dict(found[0])
    return {}


def incident_when(ab: Alertbridge, incident_id: int, field: str, value: str) -> dict[str, Any]:
    """The incident if its `field` has this value, else {}."""
    incident = dict(ab.get(f"/api/v1/incidents/{incident_id}"))
    return incident if incident[field] == value else {}


def acknowledged_by(z: ZabbixE2E, eventid: str, username: str) -> dict[str, Any]:
    """The event once `username` has acknowledged or commented it, else {}."""
    event = z.event(eventid)
    return event if acks_by(event, username) else {}


def acks_by(event: dict[str, Any], username: str) -> list[dict[str, Any]]:
    return [a for a in event.get("acknowledges") or [] if a.get("username") == username]


def event_tags(z: ZabbixE2E, eventid: str, needed: str) -> dict[str, str]:
    """The event's tags (name -> value) once it has the tag `needed`, else {}."""
    tags = {t["tag"]: t["value"] for t in z.event(eventid)["tags"]}
    return tags if needed in tags else {}


def alert_states(z: ZabbixE2E, eventid: str) -> str:
    return "; ".join(f"{a['subject']!r} status={a['status']} error={a['error']!r}" for a in z.alerts(eventid))


# -- tests ---------------------------------------------------------------------------------------------
def test_problem_acknowledged_with_ticket_and_updates_flow_back(
    zabbix: ZabbixSide, alertbridge: Alertbridge, acme_host: Callable[[str, str], TrapperHost]
) -> None:
    z, ab = zabbix.z, alertbridge
    ab.start()
    h = acme_host("acme-db01", "Backup failed on {HOST.NAME}")

    # a problem -> an incident (or fault) with a ticket -----------------------------------------------
    z.push(h.host, h.key, 1)
    eventid = problem_event(z, h.triggerid)["eventid"]
    incident = wait_for(f"alertbridge's incident for {h.host}", lambda: incident_of(ab, h.host), timeout=WAIT)
    ticket = incident["ticket"]
    assert incident["source"] == "zabbix", incident
    assert incident["state"] == "open", incident
    assert incident["stage"] == "new", incident

    # ... acknowledged in Zabbix by alertbridge's API user, with the ticket number ---------------------
    event = wait_for(
        f"problem {eventid} acknowledged by {AB_USER}",
        lambda: acknowledged_by(z, eventid, AB_USER),
        timeout=WAIT,
    )
    ack = acks_by(event, AB_USER)
    assert len(ack) == 1, event["acknowledges"]
    assert ticket in ack[0]["message"], ack[0]
    assert int(ack[0]["action"]) & ACK_ACKNOWLEDGE, ack[0]
    assert event["acknowledged"] == "1", event
    # ... and tagged by the media type from alertbridge's answer (process_tags)
    tags = wait_for(  # the alert manager adds them once the webhook returned: maybe after the acknowledgement
        "the tags the media type set from alertbridge's answer (process_tags)",
        lambda: event_tags(z, eventid, "__alertbridge_ticket"),
        timeout=20,
    )
    assert tags.get("__alertbridge_ticket") == ticket, tags
    assert tags.get("__alertbridge_incident") == str(incident["id"]), event["tags"]

    # alertbridge's own acknowledgement echoes back as an update webhook: delivered, but no article --------
    wait_for(
        "the update notification of alertbridge's acknowledgement to be delivered",
        lambda: [
            a
            for a in z.alerts(eventid)
            if a["subject"].startswith("Updated") and f"({AB_USER})" in a["message"] and a["status"] == ALERT_SENT
        ],
        timeout=WAIT,
    )
    articles = ab.ticket(ticket)["articles"]
    assert not [a for a in articles if "update by" in a["body"]], articles
    assert ab.get(f"/api/v1/incidents/{incident['id']}")["stage"] == "new"

    # an engineer (Admin) acknowledges -> an internal article, the incident is in progress ------------------
    # (alertbridge acknowledged the problem already, so Zabbix records Admin's acknowledge+message as a
    # message only: the update webhook says event_update_action "commented", not "acknowledged")
    z.acknowledge(eventid, "looking", action=ACK_ACKNOWLEDGE | ACK_MESSAGE)
    article = wait_for(
        "Admin's update as an article on the ticket",
        lambda: [a for a in ab.ticket(ticket)["articles"] if "update by" in a["body"] and "looking" in a["body"]],
        timeout=WAIT,
    )
    assert len(article) == 1, article
    assert "Admin" in article[0]["body"], article[0]
    assert article[0]["visible_to_customer"] is False, article[0]
    taken = wait_for(
        "the incident to be in progress",
        lambda: incident_when(ab, incident["id"], "stage", "in_progress"),
        timeout=10,
    )
    assert "Admin" in (taken["acknowledged_by"] or ""), taken
    articles = ab.ticket(ticket)["articles"]
    assert not [a for a in articles if "update by" in a["body"] and f"({AB_USER})" in a["body"]], articles

    # recovery -> resolved --------------------------------------------------------------------------------
    z.push(h.host, h.key, 0)
    resolved = wait_for(
        "the incident to be resolved",
        lambda: incident_when(ab, incident["id"], "state", "resolved"),
        timeout=WAIT,
    )
    assert resolved["resolved_at"], resolved
    assert resolved["ticket"] == ticket
    assert not z.problems(eventids=[eventid])
    failed = [a for a in z.alerts(eventid) if a["status"] == ALERT_FAILED]
    assert not failed, alert_states(z, eventid)


def test_reconcile_picks_up_what_zabbix_could_not_deliver(
    zabbix: ZabbixSide, alertbridge: Alertbridge, acme_host: Callable[[str, str], TrapperHost]
) -> None:
    z, ab = zabbix.z, alertbridge
    h = acme_host("acme-fs02", "Share offline on {HOST.NAME}")

    # alertbridge down: the problem's webhook fails (3 attempts, 10 s apart) --------------------------------
    assert not ab.running
    z.push(h.host, h.key, 1)
    eventid = problem_event(z, h.triggerid)["eventid"]
    wait_for(
        "Zabbix to give up on the problem notification",
        lambda: [a for a in z.alerts(eventid) if a["subject"].startswith("Problem") and a["status"] == ALERT_FAILED],
        timeout=60,
    )

    # alertbridge up: reconcile finds the open problem -----------------------------------------------------
    ab.start()
    incident = wait_for(
        f"reconcile to open an incident for {h.host}",
        lambda: incident_of(ab, h.host, with_ticket=False),
        timeout=RECONCILE + 20,
    )
    assert incident["state"] == "open", incident
    assert incident["source"] == "zabbix", incident

    # alertbridge down again; the problem recovers and that notification fails too --------------------------
    ab.stop()
    assert z.problems(eventids=[eventid])
    z.push(h.host, h.key, 0)
    wait_for(
        "Zabbix to give up on the recovery notification",
        lambda: [a for a in z.alerts(eventid) if a["subject"].startswith("Resolved") and a["status"] == ALERT_FAILED],
        timeout=60,
    )
    assert not z.problems(eventids=[eventid])

    # alertbridge up again: reconcile resolves the incident ---------------------------------------------------
    ab.start()
    resolved = wait_for(
        "reconcile to resolve the incident",
        lambda: incident_when(ab, incident["id"], "state", "resolved"),
        timeout=RECONCILE + 20,
    )
    assert resolved["resolved_at"], resolved
