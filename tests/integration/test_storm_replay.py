"""A recorded storm replayed through the pipeline: a core switch outage with forty hosts behind it, a
flapping site, repeats and resends of everything, two customers. The result is a handful of incidents,
not hundreds of tickets."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, load_settings
from tests.integration import bodies
from tests.integration.api import Api

HOSTS = [f"srv-{n:02d}.acme" for n in range(40)]


def node(
    host: str, status: str = "firing", starts: str = "2026-11-23T10:00:00Z", ends: str = "2026-11-23T11:00:00Z"
) -> dict[str, Any]:
    labels = {
        "alertname": "NodeDown",
        "instance": f"{host}:9100",
        "job": "node",
        "customer": "acme",
        "severity": "critical",
    }
    return bodies.alert(labels, {"summary": f"Host {host} is down"}, status, starts, ends, 'up{job="node"} == 0')


def storm() -> list[dict[str, Any]]:
    """The bodies in the order they arrived, Alertmanager-style (grouped, repeated, resent)."""
    out: list[dict[str, Any]] = [bodies.body([node("sw-core.acme")])]
    behind = [node(h) for h in HOSTS]
    for i in range(0, 40, 8):  # Alertmanager groups them as they come
        out.append(bodies.body(behind[i : i + 8]))
    for _ in range(5):  # repeat_interval resends, in other groupings
        shuffled = behind[:]
        random.shuffle(shuffled)
        out += [bodies.body(shuffled[i : i + 10]) for i in range(0, 40, 10)]
    # the site flaps meanwhile
    for k in range(6):
        out.append(bodies.website(starts=f"2026-11-23T10:{10 + 2 * k:02d}:00Z"))
        out.append(
            bodies.website(
                "resolved", starts=f"2026-11-23T10:{10 + 2 * k:02d}:00Z", ends=f"2026-11-23T10:{11 + 2 * k:02d}:00Z"
            )
        )
    # globex's mail is down too, its alert resent many times
    mail = bodies.body([bodies.alert(bodies.MAIL_DOWN, {"summary": "mx1 does not accept SMTP"})])
    out += [mail] * 30
    # the switch recovers; three hosts stay down (their own trouble)
    out.append(bodies.body([node("sw-core.acme", "resolved")]))
    recovered = [node(h, "resolved") for h in HOSTS[3:]]
    out += [bodies.body(recovered[i : i + 10]) for i in range(0, len(recovered), 10)]
    return out


async def test_replayed_storm(database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> None:
    random.seed(7)
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    acme = next(c for c in cfg["customers"] if c["id"] == "acme")
    acme["dependencies"] = [{"hosts": ["srv-*.acme"], "parents": ["sw-core.acme"]}]
    path = tmp_path / "storm.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    api = Api(await service_factory(load_settings(database_url, mailbox.url, config=path)))
    posts = storm()
    assert len(posts) > 70 and sum(len(b["alerts"]) for b in posts) > 300
    for body in posts:
        status, answer = await api.am(body)
        assert status == 200, answer
    assert await api.svc.sla.release_maintenance() == 3  # the hosts still down once the switch is back

    acme_incs = await api.incidents(customer="acme")
    switch = [i for i in acme_incs if i["host"] == "sw-core.acme"]
    assert len(switch) == 1 and switch[0]["state"] == "resolved"
    arts = [a["body"] for a in (await api.ticket(switch[0]["ticket"]))["articles"]]
    assert sum(b.startswith("Dependent alert attached") for b in arts) == 40  # each host behind it, once
    own = sorted(i["host"] for i in acme_incs if i["host"].startswith("srv-"))
    assert own == HOSTS[:3]
    site = [i for i in acme_incs if i["service"] == "website"]
    assert len(site) == 1 and site[0]["flapping"] and site[0]["state"] == "open"
    assert len(acme_incs) == 5
    [mail] = await api.incidents(customer="globex")
    assert mail["occurrences"] == 30
    tickets = {i["ticket"] for i in [*acme_incs, mail]}
    assert len(tickets) == 6
    await api.deliver()
    # the switch (affected, restored), the site (affected, restored), three hosts, globex's mail: no more
    assert len(mailbox.to("curator@acme.example")) <= 7
    assert len(mailbox.to("it-manager@globex.example")) == 1
