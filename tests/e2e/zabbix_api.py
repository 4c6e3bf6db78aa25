"""A real Zabbix 6.0 for the end-to-end tests: bring-up (tests/e2e/zabbix/zabbix.sh) and a small helper
around its JSON-RPC API (pyzabbix) and trapper (zabbix-utils `Sender`).

`ZabbixServer` starts and stops the server, PostgreSQL and the PHP frontend on free ports;
`ZabbixE2E` logs in and builds what a scenario needs: a host group, a host with a trapper item and a
trigger, API users, alertbridge's media type (config/zabbix/alertbridge_mediatype.yaml, imported
with configuration.import and pointed at a given alertbridge), the media on a user, and an action
that sends problem, recovery and update notifications. It pushes trapper values and reads events
(with acknowledgements and tags), problems and the alerts Zabbix sent.

Zabbix never notifies the user who made an update: the user that owns the media must be neither
alertbridge's API user nor the engineer acknowledging, or their updates would not come back as
update webhooks.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pyzabbix import ZabbixAPI

REPO_ROOT = Path(__file__).resolve().parents[2]
ZABBIX_SH = Path(__file__).resolve().parent / "zabbix" / "zabbix.sh"
MEDIATYPE_YAML = REPO_ROOT / "config" / "zabbix" / "alertbridge_mediatype.yaml"
ZABBIX_SERVER_BIN = "/usr/sbin/zabbix_server"
FRONTEND_DIR = "/usr/share/zabbix"

ADMIN = ("Admin", "zabbix")
SUPER_ADMIN_ROLE = "3"  # "Super admin role" in a fresh Zabbix 6.0 database
ADMINISTRATORS_GROUP = "7"  # "Zabbix administrators" (frontend and API access)

# event.acknowledge `action` bits (Zabbix 6.0)
ACK_CLOSE, ACK_ACKNOWLEDGE, ACK_MESSAGE = 1, 2, 4
# alert.get `status`
ALERT_NOT_SENT, ALERT_SENT, ALERT_FAILED = "0", "1", "2"


def missing_packages() -> list[str]:
    """What of Zabbix's Debian packages is not installed (empty when everything is)."""
    missing = []
    if not os.access(ZABBIX_SERVER_BIN, os.X_OK):
        missing.append("zabbix-server-pgsql")
    if not os.path.isfile(os.path.join(FRONTEND_DIR, "api_jsonrpc.php")):
        missing.append("zabbix-frontend-php")
    if shutil.which("php") is None:
        missing.append("php-cli")
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and shutil.which("initdb") is None:
        missing.append("postgresql")
    return missing


def free_server_port() -> int:
    """A free TCP port on 127.0.0.1 that zabbix_server accepts as ListenPort (1024-32767)."""
    for _ in range(200):
        port = random.randint(20000, 32767)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32767 for zabbix_server")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


class ZabbixServer:
    """zabbix.sh start/stop: a fresh database each start; everything on 127.0.0.1."""

    def __init__(self, home: Path, web_port: int, server_port: int, pg_port: int) -> None:
        self.home = home
        self.web_port, self.server_port, self.pg_port = web_port, server_port, pg_port
        self.url = f"http://127.0.0.1:{web_port}"  # the frontend; the API is {url}/api_jsonrpc.php
        self.server_conf = home / "zabbix_server.conf"
        self.log_path = home / "log" / "zabbix_server.log"
        self.startup_seconds = 0.0

    def start(self, timeout: float = 120.0) -> None:
        t0 = time.monotonic()
        cmd = ["bash", str(ZABBIX_SH), "start", str(self.home), str(self.web_port), str(self.server_port)]
        cmd.append(str(self.pg_port))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_clean_env())
        if proc.returncode != 0:
            raise RuntimeError(f"zabbix.sh start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        url = proc.stdout.split()[0]
        assert url == self.url, proc.stdout
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        subprocess.run(["bash", str(ZABBIX_SH), "stop", str(self.home)], capture_output=True, timeout=90)

    def reload_config_cache(self) -> None:
        """Make API changes (hosts, items, actions, media) visible to the server now, not in 5 s."""
        subprocess.run(
            [ZABBIX_SERVER_BIN, "-c", str(self.server_conf), "-R", "config_cache_reload"],
            capture_output=True,
            timeout=30,
        )

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class TrapperHost:
    host: str
    hostid: str
    groupid: str
    itemid: str
    key: str
    triggerid: str


def api_login(url: str, user: str, password: str) -> ZabbixAPI:
    api = ZabbixAPI(url, timeout=30)
    api.session.trust_env = False  # the loopback, never through a proxy
    api.login(user, password)
    return api


class ZabbixE2E:
    """The scenario's view of one Zabbix: API calls as Admin (or another user), trapper values."""

    def __init__(self, server: ZabbixServer, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
        self.server = server
        self.url = server.url
        self.api = api_login(self.url, user, password)

    def as_user(self, user: str, password: str) -> ZabbixAPI:
        """An API session of another user (e.g. to acknowledge as them)."""
        return api_login(self.url, user, password)

    # -- configuration ---------------------------------------------------------------------------
    def create_host_group(self, name: str) -> str:
        found = self.api.hostgroup.get(filter={"name": name}, output=["groupid"])
        if found:
            return str(found[0]["groupid"])
        return str(self.api.hostgroup.create(name=name)["groupids"][0])

    def create_trapper_host(
        self,
        host: str,
        groupids: list[str],
        tags: dict[str, str] | None = None,
        key: str = "check.status",
        trigger: str = "Check failed on {HOST.NAME}",
        priority: int = 4,
        trigger_tags: dict[str, str] | None = None,
    ) -> TrapperHost:
        """A host with a trapper item (unsigned) and a trigger that fires while the last value is > 0."""
        hostid = str(
            self.api.host.create(
                host=host,
                name=host,
                groups=[{"groupid": g} for g in groupids],
                interfaces=[{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "", "port": "10050"}],
                tags=[{"tag": k, "value": v} for k, v in (tags or {}).items()],
            )["hostids"][0]
        )
        itemid = str(
            self.api.item.create(hostid=hostid, name=f"{key} (trapper)", key_=key, type=2, value_type=3)["itemids"][0]
        )
        triggerid = str(
            self.api.trigger.create(
                description=trigger,
                expression=f"last(/{host}/{key})>0",
                priority=priority,
                manual_close=1,
                opdata="status={ITEM.LASTVALUE}",
                tags=[{"tag": k, "value": v} for k, v in (trigger_tags or {}).items()],
            )["triggerids"][0]
        )
        return TrapperHost(host, hostid, groupids[0], itemid, key, triggerid)

    def create_user(
        self,
        username: str,
        password: str,
        roleid: str = SUPER_ADMIN_ROLE,
        usrgrpid: str = ADMINISTRATORS_GROUP,
        name: str = "",
        surname: str = "",
    ) -> str:
        """A user that can log in to the API (Super admin role by default)."""
        return str(
            self.api.user.create(
                username=username,
                passwd=password,
                roleid=roleid,
                usrgrps=[{"usrgrpid": usrgrpid}],
                name=name,
                surname=surname,
                timezone="UTC",  # {EVENT.DATE}/{EVENT.TIME} use the recipient's timezone
            )["userids"][0]
        )

    def import_mediatype(self, alertbridge_url: str, token: str, path: Path = MEDIATYPE_YAML) -> str:
        """Import alertbridge's media type (configuration.import) and point it at alertbridge."""
        source = path.read_text(encoding="utf-8")
        name = yaml.safe_load(source)["zabbix_export"]["media_types"][0]["name"]
        self.api.configuration["import"](
            format="yaml",
            source=source,
            rules={"mediaTypes": {"createMissing": True, "updateExisting": True}},
        )
        mediatypeid = str(self.api.mediatype.get(filter={"name": name}, output=["mediatypeid"])[0]["mediatypeid"])
        self.point_mediatype(mediatypeid, alertbridge_url, token)
        return mediatypeid

    def point_mediatype(self, mediatypeid: str, alertbridge_url: str, token: str) -> None:
        """Set the media type's alertbridge_url and alertbridge_token parameters (the rest unchanged)."""
        mt = self.api.mediatype.get(mediatypeids=[mediatypeid], output=["mediatypeid", "parameters"])[0]
        params = []
        for p in mt["parameters"]:
            value = {"alertbridge_url": alertbridge_url, "alertbridge_token": token}.get(p["name"], p["value"])
            params.append({"name": p["name"], "value": value})
        self.api.mediatype.update(mediatypeid=mediatypeid, parameters=params)
        self.set_global_macro("{$ZABBIX.URL}", self.url)

    def mediatype_parameters(self, mediatypeid: str) -> dict[str, str]:
        mt = self.api.mediatype.get(mediatypeids=[mediatypeid], output=["parameters"])[0]
        return {p["name"]: p["value"] for p in mt["parameters"]}

    def set_global_macro(self, macro: str, value: str) -> None:
        found = self.api.usermacro.get(globalmacro=True, filter={"macro": macro}, output=["globalmacroid"])
        if found:
            self.api.usermacro.updateglobal(globalmacroid=found[0]["globalmacroid"], value=value)
        else:
            self.api.usermacro.createglobal(macro=macro, value=value)

    def give_media(self, userid: str, mediatypeid: str, sendto: str = "alertbridge") -> None:
        """The user receives notifications through this media type, all severities, at all times."""
        self.api.user.update(
            userid=userid,
            medias=[
                {"mediatypeid": mediatypeid, "sendto": sendto, "active": 0, "severity": 63, "period": "1-7,00:00-24:00"}
            ],
        )

    def create_action(self, name: str, groupid: str, mediatypeid: str, userid: str) -> str:
        """Trigger action for one host group: problem, recovery and update operations, each a message
        through the media type to the user."""
        msg = {"default_msg": 1, "mediatypeid": mediatypeid}
        return str(
            self.api.action.create(
                name=name,
                eventsource=0,
                status=0,
                esc_period="1h",
                filter={"evaltype": 0, "conditions": [{"conditiontype": 0, "operator": 0, "value": groupid}]},
                operations=[
                    {
                        "operationtype": 0,
                        "esc_step_from": 1,
                        "esc_step_to": 1,
                        "opmessage": msg,
                        "opmessage_usr": [{"userid": userid}],
                    }
                ],
                recovery_operations=[{"operationtype": 0, "opmessage": msg, "opmessage_usr": [{"userid": userid}]}],
                update_operations=[{"operationtype": 0, "opmessage": msg, "opmessage_usr": [{"userid": userid}]}],
            )["actionids"][0]
        )

    # -- trapper ---------------------------------------------------------------------------------
    def push(self, host: str, key: str, value: int | str) -> Any:
        """Send one trapper value; the server's answer (processed/failed counts)."""
        from zabbix_utils import Sender

        return Sender(server="127.0.0.1", port=self.server.server_port).send_value(host, key, str(value))

    def wait_trapper_ready(self, host: str, key: str, value: int | str = 0, timeout: float = 60.0) -> float:
        """Reload the server's configuration cache, then push `value` until the server knows the item;
        the seconds that took."""
        self.server.reload_config_cache()
        t0 = time.monotonic()
        last: Any = None
        while time.monotonic() - t0 < timeout:
            try:
                last = self.push(host, key, value)
                if int(getattr(last, "processed", 0)) == 1:
                    return time.monotonic() - t0
            except Exception as exc:  # the trapper not listening yet
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"the server never accepted {host}:{key} after {timeout:g} s: {last!r}")

    # -- reading ---------------------------------------------------------------------------------
    def events(self, **params: Any) -> list[dict[str, Any]]:
        """Trigger events (event.get), newest first, with acknowledgements (`acknowledges`, each with the
        user's `username`) and tags. Zabbix 6.0's event.get spells the option `select_acknowledges`; it
        silently ignores `selectAcknowledges` (problem.get takes that one, without user names)."""
        return list(
            self.api.event.get(
                source=0,
                object=0,
                output="extend",
                select_acknowledges="extend",
                selectTags="extend",
                sortfield=["clock", "eventid"],
                sortorder="DESC",
                **params,
            )
        )

    def event(self, eventid: str) -> dict[str, Any]:
        found = self.events(eventids=[eventid])
        assert found, f"no event {eventid}"
        return found[0]

    def problem_events(self, triggerid: str) -> list[dict[str, Any]]:
        """Problem events (value 1) of one trigger, newest first."""
        return self.events(objectids=[triggerid], value=1)

    def problems(self, **params: Any) -> list[dict[str, Any]]:
        """Open problems (problem.get), with acknowledgements and tags."""
        return list(
            self.api.problem.get(
                output="extend", selectAcknowledges="extend", selectTags="extend", recent=False, **params
            )
        )

    def alerts(self, eventid: str) -> list[dict[str, Any]]:
        """The notifications Zabbix made for a problem event (its own and its recovery's, updates too)."""
        rows = self.api.alert.get(
            eventids=[eventid],
            output=["alertid", "eventid", "p_eventid", "clock", "status", "retries", "error", "subject", "message"],
            sortfield="alertid",
        )
        rows2 = self.api.alert.get(
            filter={"p_eventid": eventid},
            output=["alertid", "eventid", "p_eventid", "clock", "status", "retries", "error", "subject", "message"],
            sortfield="alertid",
        )
        by_id = {r["alertid"]: r for r in [*rows, *rows2]}
        return [by_id[k] for k in sorted(by_id, key=int)]

    def acknowledge(self, eventid: str, message: str, api: ZabbixAPI | None = None, action: int = 0) -> None:
        """Acknowledge a problem with a message (as Admin, or through another user's session)."""
        (api or self.api).event.acknowledge(
            eventids=[eventid], action=action or (ACK_ACKNOWLEDGE | ACK_MESSAGE), message=message
        )
