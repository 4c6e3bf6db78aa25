"""A real Alertmanager (Debian's prometheus-alertmanager 0.25) pushes to a running alertbridge.

One scenario, each step checked through alertbridge's API and a real SMTP server:
  a. a service alert fires        -> one incident with a ticket, one "affected" mail to the curator
  b. Alertmanager repeats it       -> counted on the same incident, no new ticket, no new mail
  c. it resolves                   -> incident and ticket resolved, one "restored" mail
  d. a RAID set degrades           -> a silent fault in the fault queue, internal articles, no mail
Timers: group_wait 1 s, group_interval 2 s, repeat_interval 10 s (see harness.Alertmanager).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.harness import Alertbridge, Alertmanager, Mailbox, wait_for

pytestmark = pytest.mark.e2e

CURATOR = "curator@acme.example"
WEBSITE_ALERT = {
    "alertname": "BlackboxProbeFailed",
    "customer": "acme",
    "service": "website",
    "severity": "critical",
    "instance": "https://www.acme.example/",
    "job": "blackbox",
}
WEBSITE_ANNOTATIONS = {
    "summary": "Website www.acme.example is down",
    "description": "The HTTP probe of https://www.acme.example/ has failed for 2 minutes.",
}
RAID_ALERT = {
    "alertname": "MdRaidDegraded",
    "customer": "acme",
    "service": "fileserver",
    "severity": "warning",
    "instance": "fs-01.acme.example:9100",
    "device": "md0",
}
RAID_ANNOTATIONS = {
    "summary": "RAID array md0 on fs-01.acme.example is degraded",
    "description": "One of the two disks of md0 has failed; the array still serves data.",
}


def only(items: list[dict[str, Any]], what: str) -> dict[str, Any]:
    assert len(items) == 1, f"expected exactly one {what}, got {len(items)}: {items}"
    return items[0]


def test_alertmanager_to_curator_mail(
    e2e_mailbox: Mailbox, e2e_alertbridge: Alertbridge, e2e_alertmanager: Alertmanager
) -> None:
    ab, am, mail = e2e_alertbridge, e2e_alertmanager, e2e_mailbox
    started = time.monotonic()

    # a. firing service alert -> one incident with a ticket, one "affected" mail -----------------
    starts_at = am.fire(WEBSITE_ALERT, WEBSITE_ANNOTATIONS)
    page = wait_for(
        "the website incident",
        lambda: (p := ab.incidents(customer="acme", kind="incident"))["total"] and p["incidents"][0]["ticket"] and p,
        timeout=30,
    )
    incident = only(page["incidents"], "acme incident")
    assert incident["kind"] == "incident"
    assert (incident["customer"], incident["service"]) == ("acme", "website")
    assert incident["state"] == "open"
    assert incident["title"] == WEBSITE_ANNOTATIONS["summary"]
    assert incident["source"] == "alertmanager"
    assert incident["occurrences"] == 1
    ticket_no = incident["ticket"]
    ticket = ab.ticket(ticket_no)
    assert ticket["state"] == "new"
    assert ticket["incident_id"] == incident["id"]
    assert ticket["origin"] == "monitoring"

    affected = wait_for("the curator's 'affected' mail", lambda: mail.to(CURATOR), timeout=30)
    affected_mail = only(affected, f"mail to {CURATOR}")
    assert "Service affected" in affected_mail["subject"], affected_mail["subject"]
    assert "www.acme.example" in affected_mail["subject"], affected_mail["subject"]  # the service's name
    assert ticket_no in affected_mail["subject"]
    assert ticket_no in affected_mail["body"]
    assert len(mail.all()) == 1, mail.summary()
    assert wait_for(
        "curator_notified on the incident",
        lambda: ab.get(f"/api/v1/incidents/{incident['id']}")["curator_notified"],
        timeout=10,
    )

    # b. Alertmanager's repeat_interval re-sends it -> counted, same incident and ticket, no mail --
    sent = am.metric("alertmanager_notifications_total", integration="webhook")
    am.fire(WEBSITE_ALERT, WEBSITE_ANNOTATIONS, starts_at=starts_at)  # as Prometheus re-sends: changes nothing
    repeated = wait_for(
        "Alertmanager's repeat to reach the incident (occurrences > 1)",
        lambda: (i := ab.get(f"/api/v1/incidents/{incident['id']}"))["occurrences"] > 1 and i,
        timeout=25,
    )
    assert wait_for(
        "Alertmanager to count its repeat",
        lambda: am.metric("alertmanager_notifications_total", integration="webhook") > sent,
        timeout=5,
    )
    assert repeated["state"] == "open"
    assert repeated["ticket"] == ticket_no
    page = ab.incidents(customer="acme", kind="incident")
    assert page["total"] == 1, page
    assert page["incidents"][0]["id"] == incident["id"]
    assert ab.incidents(customer="acme")["total"] == 1
    time.sleep(1)  # a mail the repeat might have queued would be out by now
    assert len(mail.to(CURATOR)) == 1, mail.summary()
    assert len(mail.all()) == 1, mail.summary()

    # c. resolved -> incident and ticket resolved, one "restored" mail (two in all) --------------
    am.resolve(WEBSITE_ALERT, WEBSITE_ANNOTATIONS, starts_at=starts_at)
    resolved = wait_for(
        "the incident to be resolved",
        lambda: (i := ab.get(f"/api/v1/incidents/{incident['id']}"))["state"] == "resolved" and i,
        timeout=30,
    )
    assert resolved["resolved_at"], resolved
    assert resolved["ticket"] == ticket_no
    assert ab.ticket(ticket_no)["state"] == "resolved"
    page = ab.incidents(customer="acme", kind="incident", state="resolved")
    assert [i["id"] for i in page["incidents"]] == [incident["id"]]

    to_curator = wait_for("the curator's 'restored' mail", lambda: len(mail.to(CURATOR)) >= 2 and mail.to(CURATOR))
    assert len(to_curator) == 2, mail.summary()
    restored_mail = to_curator[1]
    assert "Service restored" in restored_mail["subject"], restored_mail["subject"]
    assert "www.acme.example" in restored_mail["subject"]
    assert ticket_no in restored_mail["subject"]
    assert len(mail.all()) == 2, mail.summary()

    # d. RAID degraded -> a silent fault: own ticket in the fault queue, internal only, no mail ---
    am.fire(RAID_ALERT, RAID_ANNOTATIONS)
    page = wait_for(
        "the RAID fault",
        lambda: (p := ab.incidents(customer="acme", kind="fault"))["total"] and p["incidents"][0]["ticket"] and p,
        timeout=30,
    )
    fault = only(page["incidents"], "acme fault")
    assert fault["kind"] == "fault"
    assert (fault["customer"], fault["service"]) == ("acme", "fileserver")
    assert fault["state"] == "open"
    assert fault["title"] == RAID_ANNOTATIONS["summary"]
    assert fault["ticket"] != ticket_no
    assert fault["curator_notified"] is False
    fault_ticket = ab.ticket(fault["ticket"])
    assert fault_ticket["queue"] != ticket["queue"], (fault_ticket["queue"], ticket["queue"])
    assert fault_ticket["articles"], fault_ticket
    assert all(a["visible_to_customer"] is False for a in fault_ticket["articles"]), fault_ticket["articles"]

    time.sleep(5)  # no mail may follow the fault
    assert len(mail.all()) == 2, mail.summary()
    assert not ab.get(f"/api/v1/incidents/{fault['id']}")["curator_notified"]
    assert ab.incidents(customer="acme")["total"] == 2
    assert ab.incidents(customer="globex")["total"] == 0

    # Alertmanager delivered every notification on the first try (alertbridge never refused one).
    assert am.metric("alertmanager_notifications_total", integration="webhook") >= 4
    assert am.metric("alertmanager_notifications_failed_total", integration="webhook") == 0
    assert am.metric("alertmanager_notification_requests_failed_total", integration="webhook") == 0
    assert time.monotonic() - started < 90
