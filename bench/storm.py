#!/usr/bin/env python3
"""Alert storm: posts Alertmanager webhook (version "4") bodies, or Zabbix 6.0 problem/recovery bodies
as alertbridge's media type sends them, to a loopback receiver and prints one JSON line: throughput,
latency, statuses, errors.

    storm.py --url http://127.0.0.1:PORT/api/v1/alertmanager --header "Authorization: Bearer T"
    storm.py --source zabbix --url http://127.0.0.1:PORT/api/v1/zabbix --header "Authorization: Bearer Z"
    storm.py --url http://127.0.0.1:18081/api/webhooks/prometheus --customer-label tenant   # Alerta
    storm.py --print-body 3 --per-body 4          # show bodies, send nothing

Started from shared/bench/storm.py: the Alertmanager plan is the same, byte for byte, for the same flags
(shared/bench/check_alerta.py can check a run of this storm), and its summary has the same fields.

The load is a plan computed before the clock starts, deterministic for (source, seed, keys, per-body,
customers, customer-label, alerts, resolve-fraction, base-time, step-ms, instance-prefix, event-id-base).

Alertmanager (--source alertmanager, the default): bodies look like Alertmanager 0.25's (AM key order,
sorted label keys, compact JSON with a trailing newline, `&<>` escaped as Go does, real fingerprints,
groupKey as on a root route grouping by alertname, customer, service, the headers Alertmanager sends).
Identities: --keys label sets {alertname, customer, instance, job, service, severity}; with --per-body M
they come in groups of M sharing alertname/customer/service and each post carries one group (resolved
members already delivered are left out, as Alertmanager does).

Zabbix (--source zabbix): one event per body, the field set of a real captured body
(tests/fixtures/zabbix/problem.json, recovery.json): every media type parameter
(config/zabbix/alertbridge_mediatype.yaml) but the control ones, in the media type's order, then `kind`
and `event_tags_parsed` as its script adds them; macros Zabbix leaves unresolved stay literal text.
An identity is a trigger on a host (trigger id, host, tags customer/component/scope); an episode of it is
a problem event with a new event id (ids grow, as Zabbix's do); a repeated firing post of an episode is an
escalation step resending the same event; a resolve is the recovery notification: the problem's event id,
a new event_recovery_id, event_value 0. With process_tags, Zabbix tags the problem with the incident and
ticket alertbridge answered: this storm does the same, so the problem's later posts of the episode carry
__alertbridge_incident/__alertbridge_ticket in event_tags and event_incident_tag.

For both: a post resolves with probability --resolve-fraction (a random firing group; a later firing
post of it starts a new episode). Firing posts deal the groups from a shuffled deck, a new shuffle each
round, so every identity is posted once per round. Timestamps follow a virtual clock: --base-time plus
--step-ms per post. A group's next post waits until its previous one is answered (as Alertmanager and
Zabbix's per-event escalations do; --overlap lifts this); latency is measured from the send.

Loopback targets only; bounded by --max-seconds (no new post after it) and --timeout (each request).
Needs aiohttp to send (stdlib otherwise): run it with alertbridge's .venv/bin/python.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
import math
import random
import resource
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

# (alertname, severity, summary, description, PromQL expression): a small rule catalogue.
# Severities are critical/warning only: Alerta 9.1 answers 500 to severity "info" (not in its
# alarm model), which would turn a throughput run into an error count.
CATALOGUE = [
    (
        "HostDown",
        "critical",
        "Host {host} is down",
        "{instance} (job node) has not answered scrapes for more than 2 minutes.",
        'up{job="node"} == 0',
    ),
    (
        "BlackboxProbeFailed",
        "critical",
        "Probe of {host} failed",
        "HTTP probe of {host} failed for 2 minutes.",
        "probe_success == 0",
    ),
    (
        "MdRaidDegraded",
        "warning",
        "RAID md0 on {host} is degraded",
        "md0 on {instance} runs with a missing disk.",
        'node_md_disks_required - node_md_disks{state="active"} > 0',
    ),
    (
        "HttpErrorsHigh",
        "warning",
        "{host} answers 5xx to 12% of requests",
        "5xx ratio above 10% for 10 minutes on {instance}.",
        'rate(http_requests_total{code=~"5.."}[5m]) > 0.1',
    ),
    (
        "DiskAlmostFull",
        "warning",
        "Filesystem on {host} is 93% full",
        "/var on {instance} has less than 7% space left.",
        "node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.07",
    ),
    (
        "NodeMemoryHigh",
        "warning",
        "Memory on {host} is 95% used",
        "{instance} has used more than 95% of its memory for 15 minutes.",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.05",
    ),
    (
        "InterfaceDown",
        "critical",
        "Uplink on {host} is down",
        "eth0 on {instance} reports no carrier.",
        "node_network_carrier == 0",
    ),
    (
        "BackupFailed",
        "critical",
        "Backup of {host} failed",
        "The last backup job on {instance} did not finish.",
        "backup_last_success_age_seconds > 90000",
    ),
    (
        "CertificateExpiringSoon",
        "warning",
        "Certificate on {host} expires in 12 days",
        "TLS certificate of {instance} expires soon.",
        "probe_ssl_earliest_cert_expiry - time() < 14 * 86400",
    ),
    (
        "NtpClockSkew",
        "warning",
        "Clock on {host} is off by 0.8 s",
        "{instance} drifts from NTP.",
        "abs(node_timex_offset_seconds) > 0.5",
    ),
]
SERVICES = ["website", "mail", "vpn", "fileserver", "erp", "backup", "dns"]
FIRING_ENDS_AT = "0001-01-01T00:00:00Z"
HEADERS = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}

# Zabbix triggers as Zabbix 6.0 templates name them: (name, severity, nseverity, item key, item name,
# last value, opdata, description, component tag, scope tag). {HOST} is the host's visible name.
ZABBIX_CATALOGUE = [
    (
        "RAID degraded on {HOST}",
        "High",
        "4",
        "raid.status",
        "RAID status",
        "1",
        "status=1",
        "RAID array reports status 1 (0 = OK).",
        "raid",
        "storage",
    ),
    (
        "Zabbix agent is not available (for 3m)",
        "Average",
        "3",
        "agent.ping",
        "Zabbix agent ping",
        "0",
        "",
        "For passive agents only, host availability is used with 3m as a time threshold.",
        "system",
        "availability",
    ),
    (
        "Unavailable by ICMP ping",
        "High",
        "4",
        "icmpping",
        "ICMP ping",
        "0",
        "",
        "Last three attempts returned timeout. Please check device connectivity.",
        "network",
        "availability",
    ),
    (
        "High CPU utilization (over 90% for 5m)",
        "Warning",
        "2",
        "system.cpu.util",
        "CPU utilization",
        "96.1 %",
        "Current utilization: 96.1 %",
        "CPU utilization is too high. The system might be slow to respond.",
        "cpu",
        "performance",
    ),
    (
        "/var: Disk space is critically low (used > 90%)",
        "Average",
        "3",
        "vfs.fs.size[/var,pused]",
        "/var: Space utilization",
        "92.6 %",
        "Space used: 46.3 GB of 50 GB (92.6 %)",
        "Two conditions should match: used space above 90% and less than 5G free.",
        "storage",
        "capacity",
    ),
    (
        "Interface eth0(): Link down",
        "Average",
        "3",
        "net.if.status[eth0]",
        "Interface eth0(): Operational status",
        "Down (2)",
        "Current state: Down",
        "This trigger expression works as follows: the interface went down while it was up.",
        "network",
        "availability",
    ),
    (
        "Lack of available memory (< 20M of 7.6 GB)",
        "Average",
        "3",
        "vm.memory.size[available]",
        "Available memory",
        "18.2 MB",
        "Available: 18.2 MB, total: 7.6 GB",
        "The system is running out of memory.",
        "memory",
        "capacity",
    ),
    (
        "Backup job failed on {HOST}",
        "High",
        "4",
        "backup.status",
        "Backup status",
        "1",
        "status=1",
        "The last backup job did not finish (0 = OK).",
        "backup",
        "availability",
    ),
    (
        "SSL certificate expires in less than 14 days",
        "Warning",
        "2",
        "web.certificate.get[{HOST}]",
        "Cert: Estimated expiration",
        "12d",
        "Expires in 12 days",
        "The TLS certificate of the web server expires soon.",
        "tls",
        "notice",
    ),
    (
        'Service "nginx" is not running',
        "Disaster",
        "5",
        'proc.num[nginx,,,"nginx: master"]',
        "Number of nginx processes",
        "0",
        "",
        "The nginx master process is not running.",
        "application",
        "availability",
    ),
]
# The body keys in the order the media type's script builds the body (parameters as the media type
# lists them, less alertbridge_url, alertbridge_token and HTTPProxy, then kind and event_tags_parsed).
ZABBIX_FIELDS = (
    "alert_message",
    "alert_sendto",
    "alert_subject",
    "event_ack_status",
    "event_date",
    "event_duration",
    "event_id",
    "event_incident_tag",
    "event_name",
    "event_nseverity",
    "event_object",
    "event_opdata",
    "event_recovery_date",
    "event_recovery_id",
    "event_recovery_tags",
    "event_recovery_time",
    "event_severity",
    "event_source",
    "event_status",
    "event_tags",
    "event_time",
    "event_timestamp",
    "event_update_action",
    "event_update_date",
    "event_update_message",
    "event_update_nseverity",
    "event_update_severity",
    "event_update_status",
    "event_update_time",
    "event_update_user",
    "event_value",
    "host_groups",
    "host_host",
    "host_ip",
    "host_name",
    "item_key",
    "item_lastvalue",
    "item_name",
    "trigger_description",
    "trigger_id",
    "trigger_name",
    "trigger_status",
    "zabbix_url",
    "kind",
    "event_tags_parsed",
)
ZABBIX_HEADERS = {"Content-Type": "application/json"}
INCIDENT_TAG = "__alertbridge_incident"
TICKET_TAG = "__alertbridge_ticket"
UNRESOLVED_INCIDENT_TAG = "{EVENT.TAGS.__alertbridge_incident}"

Labels = dict[str, str]


def fingerprint(labels: Labels) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted name, 0xff, value, 0xff."""
    h = 0xCBF29CE484222325
    for k in sorted(labels):
        for part in (k.encode(), b"\xff", labels[k].encode(), b"\xff"):
            for c in part:
                h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def go_time(t: dt.datetime) -> str:
    """RFC 3339 as Go prints it: fraction only when non-zero, trailing zeros cut."""
    frac = f"{t.microsecond // 1000:03d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def query_escape(v: str) -> str:
    """Go's url.QueryEscape (what Prometheus uses for generatorURL)."""
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(c) if c in safe else "+" if c == 32 else f"%{c:02X}" for c in v.encode())


def go_quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def zabbix_age(seconds: int) -> str:
    """{EVENT.DURATION} as Zabbix writes it: '17s', '3m 5s', '2h 0m 7s', '1d 3h 12m'."""
    d, rest = divmod(max(0, seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    parts = []
    if d:
        parts.append(f"{d}d")
    if d or h:
        parts.append(f"{h}h")
    if d or h or m:
        parts.append(f"{m}m")
    if not d:
        parts.append(f"{s}s")
    return " ".join(parts)


def identities(
    keys: int,
    seed: int,
    per_body: int = 1,
    customers: int = 50,
    customer_label: str = "customer",
    prefix: str = "host",
) -> list[Labels]:
    """The K label sets of a storm: groups of per_body identities share alertname/customer/service."""
    rng = random.Random(f"identities:{seed}")
    out = []
    name = severity = customer = service = ""
    for n in range(keys):
        if n % per_body == 0:
            name, severity, *_ = rng.choice(CATALOGUE)
            customer = f"cust{rng.randrange(customers):03d}"
            service = rng.choice(SERVICES)
        labels = {
            "alertname": name,
            customer_label: customer,
            "instance": f"{prefix}{n:05d}.{customer}.example:9100",
            "job": "node",
            "service": service,
            "severity": severity,
        }
        out.append(dict(sorted(labels.items())))
    return out


@dataclass(frozen=True)
class Trigger:
    """A Zabbix identity: one trigger on one host."""

    trigger_id: str
    host: str
    host_name: str
    host_ip: str
    customer: str
    name: str
    severity: str
    nseverity: str
    item_key: str
    item_name: str
    lastvalue: str
    opdata: str
    description: str
    tags: tuple[tuple[str, str], ...]

    def tag_list(self) -> list[dict[str, str]]:
        return [{"tag": t, "value": v} for t, v in self.tags]


def zabbix_identities(keys: int, seed: int, customers: int = 50, prefix: str = "host") -> list[Trigger]:
    """The K triggers of a Zabbix storm (trigger ids 100000 + n, one host each)."""
    rng = random.Random(f"zabbix-identities:{seed}")
    out = []
    for n in range(keys):
        name, sev, nsev, key, item, last, opdata, desc, component, scope = rng.choice(ZABBIX_CATALOGUE)
        customer = f"cust{rng.randrange(customers):03d}"
        service = rng.choice(SERVICES)
        host = f"{prefix}{n:05d}.{customer}.example"
        visible = f"{customer.upper()} {prefix}{n:05d}"
        out.append(
            Trigger(
                trigger_id=str(100000 + n),
                host=host,
                host_name=visible,
                host_ip=f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
                customer=customer,
                name=name.replace("{HOST}", visible),
                severity=sev,
                nseverity=nsev,
                item_key=key.replace("{HOST}", host),
                item_name=item,
                lastvalue=last,
                opdata=opdata,
                description=desc,
                tags=(("component", component), ("scope", scope), ("service", service), ("customer", customer)),
            )
        )
    return out


def _alert(labels: Labels, status: str, starts: str, ends: str) -> dict[str, Any]:
    name = labels["alertname"]
    _, _, summary, description, expr = next(c for c in CATALOGUE if c[0] == name)
    inst = labels["instance"]
    host = inst.split(":")[0]
    return {
        "status": status,
        "labels": labels,
        "annotations": {
            "description": description.format(instance=inst, host=host),
            "runbook_url": f"https://runbooks.example.com/alerts/{name}",
            "summary": summary.format(instance=inst, host=host),
        },
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=" + query_escape(expr) + "&g0.tab=1",
        "fingerprint": fingerprint(labels),
    }


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def encode(alerts: list[dict[str, Any]], customer_label: str) -> bytes:
    """One Alertmanager v4 body, serialised like Alertmanager (Go encoding/json)."""
    alerts = sorted(alerts, key=lambda a: (a["labels"].get("job", ""), a["labels"].get("instance", "")))
    first = alerts[0]["labels"]
    group = {k: first[k] for k in sorted(("alertname", customer_label, "service")) if k in first}
    body = {
        "receiver": "storm",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": alerts,
        "groupLabels": group,
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f"{k}={go_quote(v)}" for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") + "\n").encode()


def zabbix_body(
    t: Trigger,
    kind: str,
    event_id: int,
    start: dt.datetime,
    now: dt.datetime,
    recovery_id: int | None = None,
) -> dict[str, Any]:
    """One media type body (a problem, or the recovery of event_id), as the media type script builds it."""
    tags = t.tag_list()
    tags_json = json.dumps(tags, separators=(",", ":"), ensure_ascii=False)
    duration = zabbix_age(int((now - start).total_seconds()))
    problem = kind == "problem"
    v: dict[str, Any] = {
        "alert_message": (
            f"{t.name} on {t.host_name} ({t.severity}) at {start:%Y.%m.%d} {start:%H:%M:%S}"
            if problem
            else f"Resolved in {duration}: {t.name} on {t.host_name}"
        ),
        "alert_sendto": "alertbridge",
        "alert_subject": f"Problem: {t.name}" if problem else f"Resolved: {t.name}",
        "event_ack_status": "No",
        "event_date": f"{start:%Y.%m.%d}",
        "event_duration": duration,
        "event_id": str(event_id),
        "event_incident_tag": UNRESOLVED_INCIDENT_TAG,
        "event_name": t.name,
        "event_nseverity": t.nseverity,
        "event_object": "0",
        "event_opdata": t.opdata,
        "event_recovery_date": "{EVENT.RECOVERY.DATE}" if problem else f"{now:%Y.%m.%d}",
        "event_recovery_id": "{EVENT.RECOVERY.ID}" if problem else str(recovery_id),
        "event_recovery_tags": "{EVENT.RECOVERY.TAGSJSON}" if problem else tags_json,
        "event_recovery_time": "{EVENT.RECOVERY.TIME}" if problem else f"{now:%H:%M:%S}",
        "event_severity": t.severity,
        "event_source": "0",
        "event_status": "PROBLEM" if problem else "RESOLVED",
        "event_tags": tags_json,
        "event_time": f"{start:%H:%M:%S}",
        "event_timestamp": "{EVENT.TIMESTAMP}",
        "event_update_action": "{EVENT.UPDATE.ACTION}",
        "event_update_date": "{EVENT.UPDATE.DATE}",
        "event_update_message": "{EVENT.UPDATE.MESSAGE}",
        "event_update_nseverity": "{EVENT.UPDATE.NSEVERITY}",
        "event_update_severity": "{EVENT.UPDATE.SEVERITY}",
        "event_update_status": "0",
        "event_update_time": "{EVENT.UPDATE.TIME}",
        "event_update_user": "{USER.FULLNAME}",
        "event_value": "1" if problem else "0",
        "host_groups": f"Customers/{t.customer}",
        "host_host": t.host,
        "host_ip": t.host_ip,
        "host_name": t.host_name,
        "item_key": t.item_key,
        "item_lastvalue": t.lastvalue if problem else "0",
        "item_name": t.item_name,
        "trigger_description": t.description,
        "trigger_id": t.trigger_id,
        "trigger_name": t.name,
        "trigger_status": "PROBLEM" if problem else "OK",
        "zabbix_url": "https://zabbix.example.com",
        "kind": kind,
        "event_tags_parsed": tags,
    }
    return {k: v[k] for k in ZABBIX_FIELDS}


def zabbix_encode(doc: dict[str, Any]) -> bytes:
    """JSON.stringify as Duktape does it: compact, non-ASCII as is."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def zabbix_tagged(doc: dict[str, Any], incident: str, ticket: str | None) -> dict[str, Any]:
    """The same event after process_tags: alertbridge's incident (and ticket) tags on the problem."""
    extra = [{"tag": INCIDENT_TAG, "value": incident}]
    if ticket:
        extra.append({"tag": TICKET_TAG, "value": ticket})
    tags = [t for t in doc["event_tags_parsed"] if t["tag"] not in (INCIDENT_TAG, TICKET_TAG)] + extra
    out = dict(doc)
    out["event_incident_tag"] = incident
    out["event_tags"] = json.dumps(tags, separators=(",", ":"), ensure_ascii=False)
    out["event_tags_parsed"] = tags
    return out


@dataclass
class Plan:
    """The storm's posts in order and what a receiver should hold after them."""

    bodies: list[bytes]
    body_group: list[int]  # the group a post belongs to (one in flight per group)
    body_alerts: list[int] = field(default_factory=list)  # alerts each post carries
    docs: list[dict[str, Any]] | None = None  # Zabbix: the body as a dict, to re-encode once tagged
    event_of: list[int] | None = None  # Zabbix: the problem event id each post is about
    identities: list[Any] = field(default_factory=list)
    last_status: list[str | None] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    tail_run: list[int] = field(default_factory=list)
    resolved_posts: int = 0
    alerts_sent: int = 0
    # alertbridge's rows: (customer, source, identity) -> status of the last notification carrying it
    expected_rows: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def identities_sent(self) -> int:
        return sum(1 for c in self.notifications if c)

    def as_expect(self) -> dict[str, Any]:
        """The dict shared/bench/storm.py's plan() returns (what check_alerta.py reads)."""
        return {
            "identities": self.identities,
            "last_status": self.last_status,
            "notifications": self.notifications,
            "tail_run": self.tail_run,
            "body_group": self.body_group,
            "identities_sent": self.identities_sent,
            "resolved_posts": self.resolved_posts,
            "alerts_sent": self.alerts_sent,
        }


def make_plan(args: argparse.Namespace) -> Plan:
    """The storm's bodies, in order, and per identity the number of notifications, the status of the last
    one and how many notifications in a row at the end had that status."""
    source = getattr(args, "source", "alertmanager")
    zabbix = source == "zabbix"
    if zabbix and args.per_body != 1:
        raise SystemExit("--per-body is for Alertmanager: Zabbix sends one event per body")
    if zabbix:
        triggers = zabbix_identities(args.keys, args.seed, args.customers, args.instance_prefix)
        idents: list[Any] = triggers
    else:
        labelsets = identities(
            args.keys, args.seed, args.per_body, args.customers, args.customer_label, args.instance_prefix
        )
        idents = labelsets
    rng = random.Random(f"plan:{args.seed}")
    base = dt.datetime.fromisoformat(args.base_time.replace("Z", "+00:00"))
    groups = [list(range(g, min(g + args.per_body, args.keys))) for g in range(0, args.keys, args.per_body)]
    starts: list[int | None] = [None] * args.keys  # post index the current episode began at; None = not firing
    deck: list[int] = []  # firing posts deal groups from a shuffled deck: every group once per round
    hot: list[int] = []  # groups with a firing member, for O(1) random choice
    hot_at: dict[int, int] = {}
    p = Plan(bodies=[], body_group=[], identities=idents)
    if zabbix:
        p.docs, p.event_of = [], []
    last: list[str | None] = [None] * args.keys
    sent = [0] * args.keys
    run = [0] * args.keys  # length of the trailing run of notifications with the same status
    event_id = [0] * args.keys  # Zabbix: the problem event of the current episode
    next_event = args.event_id_base

    def at(i: int) -> dt.datetime:
        return base + dt.timedelta(milliseconds=i * args.step_ms)

    def mark(g: int) -> None:
        firing = any(starts[n] is not None for n in groups[g])
        if firing and g not in hot_at:
            hot_at[g] = len(hot)
            hot.append(g)
        elif not firing and g in hot_at:
            i = hot_at.pop(g)
            tail = hot.pop()
            if tail != g:
                hot[i] = tail
                hot_at[tail] = i

    for i in range(args.alerts):
        members: list[tuple[int, str, int]] = []  # (identity, status, post index its episode began)
        if hot and rng.random() < args.resolve_fraction:
            g = hot[rng.randrange(len(hot))]
            firing = [n for n in groups[g] if starts[n] is not None]
            ending = [n for n in firing if rng.random() < 0.5] or [rng.choice(firing)]
            for n in firing:
                began = starts[n]
                assert began is not None
                if n in ending:
                    members.append((n, "resolved", began))
                    starts[n] = None
                else:
                    members.append((n, "firing", began))
            p.resolved_posts += 1
        else:
            if not deck:
                deck = list(range(len(groups)))
                rng.shuffle(deck)
            g = deck.pop()
            for n in groups[g]:
                if starts[n] is None:
                    starts[n] = i
                    event_id[n] = next_event
                    next_event += 1
                began = starts[n]
                assert began is not None
                members.append((n, "firing", began))
        for n, status, _ in members:
            run[n] = run[n] + 1 if last[n] == status else 1
            last[n], sent[n] = status, sent[n] + 1
        mark(g)
        p.alerts_sent += len(members)
        p.body_group.append(g)
        p.body_alerts.append(len(members))
        if zabbix:
            ((n, status, began),) = members
            t = triggers[n]
            recovery = None
            if status == "resolved":
                recovery = next_event
                next_event += 1
            doc = zabbix_body(
                t, "problem" if status == "firing" else "recovery", event_id[n], at(began), at(i), recovery
            )
            assert p.docs is not None and p.event_of is not None
            p.docs.append(doc)
            p.event_of.append(event_id[n])
            p.bodies.append(zabbix_encode(doc))
            p.expected_rows[(t.customer, "zabbix", str(event_id[n]))] = status
        else:
            now = go_time(at(i))
            alerts = [
                _alert(labelsets[n], status, go_time(at(began)), FIRING_ENDS_AT if status == "firing" else now)
                for n, status, began in members
            ]
            p.bodies.append(encode(alerts, args.customer_label))
            for n, status, _ in members:
                ls = labelsets[n]
                p.expected_rows[(ls[args.customer_label], "alertmanager", fingerprint(ls))] = status
    p.last_status, p.notifications, p.tail_run = last, sent, run
    return p


def plan(args: argparse.Namespace) -> tuple[list[bytes], dict[str, Any]]:
    """shared/bench/storm.py's interface: (bodies, expectations)."""
    p = make_plan(args)
    return p.bodies, p.as_expect()


def loopback_only(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        addrs = {str(ai[4][0]) for ai in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise SystemExit(f"storm.py: cannot resolve {host!r}: {exc}") from None
    if not addrs or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
        raise SystemExit(f"storm.py sends to loopback addresses only, not {host!r} ({', '.join(sorted(addrs))})")


def pct(sorted_ms: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_ms:
        return None
    k = max(0, min(len(sorted_ms) - 1, math.ceil(round(p * len(sorted_ms), 6)) - 1))
    return round(sorted_ms[k], 2)


def _tags_from_answer(text: bytes) -> tuple[str, str | None] | None:
    """What the media type's script takes from alertbridge's answer to a problem: incident id, ticket."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    incident, ticket = answer.get("incident_id"), answer.get("ticket")
    if incident is None or incident == "":
        return None
    return str(incident), (str(ticket) if ticket not in (None, "") else None)


async def storm(args: argparse.Namespace, p: Plan) -> dict[str, Any]:
    import aiohttp  # only needed to send

    zabbix = p.docs is not None
    headers = dict(ZABBIX_HEADERS if zabbix else HEADERS)
    for h in args.header:
        k, sep, v = h.partition(":")
        if not sep:
            raise SystemExit(f"--header wants 'Name: value', got {h!r}")
        headers[k.strip()] = v.strip()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    samples: dict[str, str] = {}  # first answer body per non-2xx status / error type
    tagged: dict[int, tuple[str, str | None]] = {}  # Zabbix: event id -> (incident, ticket) from the answer
    retagged = 0
    nxt = 0
    alerts_posted = 0
    locks: dict[int, asyncio.Lock] = {}  # one group at a time in flight, as Alertmanager does
    deadline = time.monotonic() + args.max_seconds
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    conn = aiohttp.TCPConnector(limit=args.concurrency, force_close=args.no_keepalive)
    skip = ["User-Agent"] if zabbix else []
    async with aiohttp.ClientSession(connector=conn, timeout=timeout, skip_auto_headers=skip) as s:

        async def worker() -> None:
            nonlocal nxt, retagged, alerts_posted
            while nxt < len(p.bodies) and time.monotonic() < deadline:
                i = nxt
                b, g = p.bodies[i], p.body_group[i]
                nxt += 1
                alerts_posted += p.body_alerts[i]
                lock = None if args.overlap else locks.setdefault(g, asyncio.Lock())
                if lock:
                    await lock.acquire()  # FIFO: a group's posts go out in plan order
                event = p.event_of[i] if p.event_of is not None else 0
                if p.docs is not None and event in tagged:
                    b = zabbix_encode(zabbix_tagged(p.docs[i], *tagged[event]))
                    retagged += 1
                t = time.perf_counter()
                try:
                    async with s.post(args.url, data=b, headers=headers) as r:
                        text = await r.read()
                        ms = (time.perf_counter() - t) * 1000
                        key = str(r.status)
                        statuses[key] = statuses.get(key, 0) + 1
                        ok = 200 <= r.status < 300
                        if not ok and key not in samples:
                            samples[key] = text[:300].decode("utf-8", "replace")
                    latencies.append(ms)
                    if ok and p.docs is not None and p.docs[i]["kind"] == "problem" and event not in tagged:
                        tags = _tags_from_answer(text)
                        if tags:
                            tagged[event] = tags
                except Exception as exc:  # counted, never fatal
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                    samples.setdefault(key, str(exc)[:300])
                finally:
                    if lock:
                        lock.release()

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*[worker() for _ in range(args.concurrency)]), args.max_seconds + args.timeout + 10
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    latencies.sort()
    answered = len(latencies)
    posts = answered + sum(errors.values())
    non_2xx = {k: v for k, v in sorted(statuses.items()) if not k.startswith("2")}
    return {
        "source": "zabbix" if zabbix else "alertmanager",
        "url": args.url,
        "posts": posts,
        "planned": len(p.bodies),
        "ok": sum(v for k, v in statuses.items() if k.startswith("2")),
        "non_2xx": non_2xx,
        "errors_total": sum(non_2xx.values()) + sum(errors.values()),
        "status": dict(sorted(statuses.items())),
        "errors": errors,
        "samples": samples,
        "stopped_by_deadline": posts < len(p.bodies),
        "wall_s": round(wall, 3),
        "posts_per_s": round(posts / wall, 1) if wall else None,
        "alerts_per_s": round(alerts_posted / wall, 1) if wall else None,
        "alerts_posted": alerts_posted,
        "p50_ms": pct(latencies, 0.50),
        "p95_ms": pct(latencies, 0.95),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "client_cpu_s": round(cpu, 2),
        "zabbix_retagged_posts": retagged if zabbix else None,
        "keys": args.keys,
        "concurrency": args.concurrency,
        "per_body": args.per_body,
        "seed": args.seed,
        "resolve_fraction": args.resolve_fraction,
        "overlap": args.overlap,
        "customers": args.customers,
        "customer_label": args.customer_label,
        "base_time": args.base_time,
        "step_ms": args.step_ms,
        "instance_prefix": args.instance_prefix,
        "event_id_base": args.event_id_base,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Alertmanager v4 / Zabbix webhook storm against a loopback receiver.")
    p.add_argument("--url", help="receiver URL (loopback only)")
    p.add_argument("--source", choices=["alertmanager", "zabbix"], default="alertmanager", help="body format")
    p.add_argument("--header", action="append", default=[], help="'Name: value', repeatable (e.g. Authorization)")
    p.add_argument("--alerts", type=int, default=20000, help="webhook posts (default 20000)")
    p.add_argument("--keys", type=int, default=2000, help="distinct alert identities (default 2000)")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    p.add_argument("--resolve-fraction", type=float, default=0.1, help="fraction of posts that resolve (default 0.1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--per-body", type=int, default=1, help="alerts per body: identities grouped by M (default 1)")
    p.add_argument("--customers", type=int, default=50, help="distinct customers cust000.. (default 50)")
    p.add_argument(
        "--customer-label",
        default="customer",
        help="label name that carries the customer (Alerta without an admin key refuses 'customer')",
    )
    p.add_argument("--instance-prefix", default="host", help="host/instance = PREFIX + 5 digits + customer")
    p.add_argument("--event-id-base", type=int, default=1000000, help="Zabbix: first event id (default 1000000)")
    p.add_argument("--base-time", default="2026-01-01T00:00:00Z", help="virtual clock start (startsAt/endsAt)")
    p.add_argument("--step-ms", type=int, default=50, help="virtual clock step per post (default 50 ms)")
    p.add_argument(
        "--max-seconds", "--duration", dest="max_seconds", type=float, default=300, help="no new post after this"
    )
    p.add_argument("--timeout", type=float, default=30, help="per-request limit in seconds (default 30)")
    p.add_argument(
        "--overlap", action="store_true", help="let posts of one group be in flight together (races; AM never does)"
    )
    p.add_argument("--no-keepalive", action="store_true", help="new connection per post")
    p.add_argument("--print-body", type=int, metavar="N", help="print the first N bodies and exit; sends nothing")
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.keys < 1 or args.alerts < 1 or args.per_body < 1 or args.concurrency < 1:
        raise SystemExit("--keys, --alerts, --per-body and --concurrency must be >= 1")
    if args.keys > 100000:
        raise SystemExit("--keys is limited to 100000 (instance names carry 5 digits)")
    if not 0 <= args.resolve_fraction <= 1:
        raise SystemExit("--resolve-fraction must be between 0 and 1")


def run(args: argparse.Namespace, on_plan: Callable[[Plan], None] | None = None) -> dict[str, Any]:
    """Plan, send, summarise (what the command line does, minus printing)."""
    loopback_only(args.url)
    t = time.perf_counter()
    p = make_plan(args)
    if on_plan:
        on_plan(p)
    result = asyncio.run(storm(args, p))
    result.update(
        resolved_posts_planned=p.resolved_posts,
        alerts_planned=p.alerts_sent,
        identities_planned=p.identities_sent,
        plan_s=round(time.perf_counter() - t - result["wall_s"], 2),
        client_maxrss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return result


def main() -> None:
    args = parser().parse_args()
    check_args(args)
    if args.print_body:
        args.alerts = min(args.alerts, args.print_body)
        for b in make_plan(args).bodies:
            sys.stdout.write(b.decode() + ("\n" if args.source == "zabbix" else ""))
        return
    if not args.url:
        raise SystemExit("--url is required")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
