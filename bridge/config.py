"""The service configuration file: loading, `${ENV}` references, validation with errors naming the key."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from classifier import ClassifierSettings, Customer
from classifier.durations import parse_duration
from classifier.inventory import Ident

Scope = Literal["alertmanager", "zabbix", "findings", "work", "read", "admin"]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the key."""


Duration = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Token(Strict):
    """A bearer token a client presents; `token` in clear (usually from ${ENV}) or its `sha256`."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    token: str | None = None
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    scopes: list[Scope] = Field(min_length=1)
    customer: str | None = None  # bound to one customer: cannot create or read another's

    def digest(self) -> str | None:
        if self.sha256:
            return self.sha256
        if self.token:
            return hashlib.sha256(self.token.encode()).hexdigest()
        return None


class MailSettings(Strict):
    smtp_url: str | None = None  # smtp://host:port, smtps://..., smtp+starttls://user:pass@host:port
    sender: str = "alertbridge <alertbridge@localhost>"
    timeout: Duration = 15.0

    @field_validator("smtp_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not re.match(r"^(smtp|smtps|smtp\+starttls)://[^/]+", v):
            raise ValueError("must look like smtp://host:port, smtps://host:port or smtp+starttls://host:port")
        return v


class DeskSettings(Strict):
    """The built-in service desk."""

    number_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{0,16}$")] = "AB-"
    incident_queue: str = "Incidents"
    fault_queue: str = "Faults"


class RemoteDesk(Strict):
    """A remote service desk alertbridge mirrors tickets to. One model for every backend; what a
    backend needs beyond the common fields goes in `options` (see connectors/desks/<backend>.py)."""

    backend: Literal["rt", "znuny", "zammad", "jira", "webhook"]
    url: str = Field(min_length=1, description="the desk's base URL (the webhook's target for `webhook`)")
    user: str = ""
    password: str = ""
    token: str = ""  # an API token instead of user/password (RT, Zammad, Jira); the HMAC secret for webhook
    incident_queue: str = "Incidents"  # RT/Znuny queue, Zammad group, Jira request type or issue type
    fault_queue: str = "Faults"
    # where the desk keeps alertbridge's idempotency key and the origin (monitoring | engineer): an RT
    # custom field, a Znuny dynamic field, a Jira custom field id (customfield_…); see the backend module
    key_field: str = "AlertbridgeKey"
    origin_field: str = "Origin"
    requester: str = "monitoring@alertbridge.invalid"  # the system requester in the desk
    engineer_domain: str = ""  # findings: requester <engineer>@<domain> when set, else the system requester
    states: dict[str, str] = Field(default_factory=dict)  # new|in_progress|resolved|closed -> the desk's state
    options: dict[str, str] = Field(default_factory=dict)  # backend-specific settings
    timeout: Duration = 15.0

    @field_validator("timeout", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)

    @model_validator(mode="after")
    def _valid(self) -> RemoteDesk:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {self.url!r}")
        if self.backend != "webhook" and not self.token and not (self.user and self.password):
            raise ValueError("set token, or user and password")
        if self.backend == "webhook" and not self.token:
            raise ValueError("set token: the secret the webhook's HMAC-SHA256 signature is made with")
        bad = sorted(set(self.states) - {"new", "in_progress", "resolved", "closed"})
        if bad:
            raise ValueError(f"states: unknown stage(s) {bad}; use new, in_progress, resolved, closed")
        return self


RTDesk = RemoteDesk  # the settings of a Request Tracker desk
DeskBackend = RemoteDesk


class ZabbixSettings(Strict):
    """Zabbix's API, for writing back: acknowledge problems with the ticket number, and reconcile."""

    url: str = ""  # the frontend's URL (…/api_jsonrpc.php is appended); empty: no write-back, no reconcile
    user: str = ""  # the API user; its own acknowledgements echoing back as update webhooks are ignored
    password: str = ""
    token: str = ""  # an API token instead of user/password
    acknowledge: bool = True  # acknowledge each problem with its ticket number and link
    reconcile_interval: Duration = 300.0  # compare open problems with open incidents; 0: never
    timeout: Duration = 15.0

    @field_validator("reconcile_interval", "timeout", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)

    @model_validator(mode="after")
    def _valid(self) -> ZabbixSettings:
        if self.url:
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url must start with http:// or https://, not {self.url!r}")
            if not self.token and not (self.user and self.password):
                raise ValueError("set token, or user and password")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class LifecycleSettings(Strict):
    reopen_window: Duration = 3600.0  # a relapse within it reopens the same incident
    sla_check_interval: Duration = 30.0  # how often deadlines and auto-close are checked
    auto_close_after: Duration = 7 * 86400.0  # a resolved incident closes after this; 0 = never
    notify_after: Duration = 0.0  # hold-down: an outage shorter than this gets a ticket but no curator notice
    min_notice_interval: Duration = 900.0  # a curator hears of one incident at most once per this ("affected")
    flap_changes: int = Field(default=4, ge=2)  # this many state changes within flap_window mark it flapping
    flap_window: Duration = 1800.0
    flap_settle: Duration = 900.0  # a flapping incident resolves only after this long without firing
    storm_threshold: int = Field(default=10, ge=0)  # this many new incidents of one service within storm_window:
    storm_window: Duration = 300.0  # later new alerts of that service join its first open one (0 = off)

    @field_validator(
        "reopen_window",
        "sla_check_interval",
        "auto_close_after",
        "notify_after",
        "min_notice_interval",
        "flap_window",
        "flap_settle",
        "storm_window",
        mode="before",
    )
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


class OutboxSettings(Strict):
    poll_interval: Duration = 1.0
    max_attempts: int = Field(default=100, ge=1)  # transient failures; ~16 h at the backoff cap
    backoff_initial: Duration = 2.0
    backoff_max: Duration = 600.0
    lease: Duration = 120.0

    @field_validator("poll_interval", "backoff_initial", "backoff_max", "lease", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


class Limits(Strict):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)


class IngestSettings(Strict):
    """Group commit: requests arriving together are stored in one transaction (each answered after it)."""

    group_commit: bool = True
    max_batch: int = Field(default=256, ge=1, le=10000)  # requests per transaction at most
    writers: int = Field(default=2, ge=1, le=64)  # transactions in flight at once (PostgreSQL; SQLite: 1)


class Maintenance(Strict):
    """A planned window: alerts of the customer (or one service, or one host) are recorded, nothing is
    opened or sent; what still fires when it ends is handled as new."""

    customer: str
    service: str | None = None
    host: str | None = None
    starts: datetime
    ends: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _order(self) -> Maintenance:
        if self.starts.tzinfo is None or self.ends.tzinfo is None:
            raise ValueError("starts and ends need a time zone (e.g. 2026-12-01T02:00:00+03:00 or ...Z)")
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


class Settings(Strict):
    listen: str = "127.0.0.1:8080"
    # server processes sharing the listening socket (PostgreSQL only; each is a replica of the others)
    workers: int = Field(default=1, ge=1, le=64)
    database_url: str = "sqlite:///var/alertbridge.db"
    public_url: str = ""  # how users reach this service; used in links sent to Zabbix and curators
    system_requester: str = "Monitoring"
    msp_name: str = "your service provider"
    unmatched_customer: str | None = None  # customer id for alerts no customer claims; None: reject them
    tokens: list[Token] = Field(default_factory=list)
    mail: MailSettings = Field(default_factory=MailSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    limits: Limits = Field(default_factory=Limits)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    customers: list[Customer] = Field(default_factory=list)
    maintenance: list[Maintenance] = Field(default_factory=list)
    zabbix: ZabbixSettings = Field(default_factory=ZabbixSettings)
    desks: dict[Ident, DeskBackend] = Field(default_factory=dict)  # remote service desks customers can use

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        ids = [c.id for c in self.customers]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"customer ids must be unique: {dup}")
        if self.unmatched_customer and self.unmatched_customer not in ids:
            raise ValueError(f"unmatched_customer {self.unmatched_customer!r} is not a configured customer")
        names = [t.name for t in self.tokens]
        dupt = sorted({n for n in names if names.count(n) > 1})
        if dupt:
            raise ValueError(f"token names must be unique: {dupt}")
        for t in self.tokens:
            if t.customer and t.customer not in ids:
                raise ValueError(f"token {t.name!r} is bound to unknown customer {t.customer!r}")
        for c in self.customers:
            if c.desk is not None and c.desk not in self.desks:
                raise ValueError(f"customer {c.id!r} uses desk {c.desk!r}, which is not defined under desks")
        for m in self.maintenance:
            cust = self.customer(m.customer)
            if cust is None:
                raise ValueError(f"maintenance window for unknown customer {m.customer!r}")
            if m.service and cust.service(m.service) is None:
                raise ValueError(f"maintenance window for unknown service {m.customer}/{m.service}")
        return self

    def customer(self, customer_id: str) -> Customer | None:
        return next((c for c in self.customers if c.id == customer_id), None)


def _interpolate(node: Any, env: dict[str, str], missing: list[str], path: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, env, missing, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, missing, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is None:
                missing.append(f"{path} (${{{name}}})")
                return ""
            return default

        return _ENV_REF.sub(sub, node)
    return node


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """A readable path for a validation error, naming list items by their id when they have one."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            label = str(part)
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                ident = node[part].get("id") or (node[part].get("name") if out == "tokens" else None)
                if ident:
                    label = str(ident)
            out += f"[{label}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def load(path: str | Path, env: dict[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Load and validate a config file. Returns the settings and warnings (e.g. unset ${ENV} references)."""
    env = dict(os.environ) if env is None else env
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of settings")
    missing: list[str] = []
    data = _interpolate(raw, env, missing)
    if env.get("ALERTBRIDGE_DATABASE_URL"):
        data["database_url"] = env["ALERTBRIDGE_DATABASE_URL"]
    if env.get("ALERTBRIDGE_SMTP_URL"):
        data.setdefault("mail", {})
        if isinstance(data["mail"], dict):
            data["mail"]["smtp_url"] = env["ALERTBRIDGE_SMTP_URL"]
    # tokens whose value is an unset ${ENV} are dropped (with a warning), not an error:
    warnings = [f"{m} is not set" for m in missing if not m.startswith("tokens[")]
    if isinstance(data.get("tokens"), list) and isinstance(raw.get("tokens"), list):
        kept = []
        for t, original in zip(data["tokens"], raw["tokens"], strict=True):
            if isinstance(t, dict) and t.get("token") == "" and not t.get("sha256"):
                ref = _ENV_REF.search(str(original.get("token", "")))
                hint = f" (set {ref.group(1)})" if ref else ""
                warnings.append(f"token {t.get('name')!r} has no value{hint}: requests with it are refused")
                continue
            kept.append(t)
        data["tokens"] = kept
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:10]:
            where = _where(tuple(err["loc"]), data)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (misspelt?)"
            unset = [m.split(" (", 1)[1].rstrip(")") for m in missing if m.split(" (", 1)[0] == where]
            if unset:
                msg += f" ({', '.join(unset)} is not set)"
            lines.append(f"  {where or '(top level)'}: {msg}")
        raise ConfigError(f"{p}: invalid configuration:\n" + "\n".join(lines)) from None
    return settings, warnings
