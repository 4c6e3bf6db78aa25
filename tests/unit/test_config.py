"""bridge.config: loading, ${ENV} references, validation errors that name the key, durations."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.config import ConfigError, Settings, load, parse_duration
from tests.unit.util import EXAMPLE_CONFIG

TOKENS = {
    "ALERTBRIDGE_TOKEN_ALERTMANAGER": "am-secret",
    "ALERTBRIDGE_TOKEN_ZABBIX": "zbx-secret",
    "ALERTBRIDGE_TOKEN_ENGINEER": "eng-secret",
}
EXAMPLE = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any, name: str = "alertbridge.yaml") -> Path:
    p = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    p.write_text(text, encoding="utf-8")
    return p


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def load_error(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, data), env=TOKENS if env is None else env)
    return str(err.value)


# --- the example ------------------------------------------------------------------------------------------


def test_example_config_loads() -> None:
    s, warnings = load(EXAMPLE_CONFIG, env=TOKENS)
    assert warnings == []
    assert s.listen == "127.0.0.1:8080"
    assert s.database_url == "sqlite:///var/alertbridge.db"
    assert s.public_url == "http://127.0.0.1:8080"  # ${ALERTBRIDGE_PUBLIC_URL:-http://127.0.0.1:8080}
    assert s.mail.smtp_url is None  # ${ALERTBRIDGE_SMTP_URL:-} is empty
    assert s.mail.sender == "Example MSP service desk <servicedesk@msp.example>"
    assert s.msp_name == "Example MSP service desk"
    assert s.unmatched_customer is None
    assert s.lifecycle.reopen_window == 3600.0
    assert s.limits.max_body_bytes == 1048576
    assert s.classifier.default_kind == "by-severity"
    assert [c.id for c in s.customers] == ["acme", "globex"]
    acme = s.customer("acme")
    assert acme is not None and [x.id for x in acme.services] == ["website", "fileserver"]
    assert s.customer("initech") is None
    globex = s.customer("globex")
    assert globex is not None and globex.curators[0].language == "ru"
    assert globex.services[1].match.hosts == ["nas-*.globex.example"]
    assert [(t.name, t.scopes) for t in s.tokens] == [
        ("alertmanager", ["alertmanager"]),
        ("zabbix", ["zabbix"]),
        ("engineers", ["findings", "work", "read"]),
    ]
    assert s.tokens[0].token == "am-secret"


def test_token_digest() -> None:
    import hashlib

    s, _ = load(EXAMPLE_CONFIG, env=TOKENS)
    assert s.tokens[0].digest() == hashlib.sha256(b"am-secret").hexdigest()


def test_example_without_environment_drops_the_tokens_with_warnings() -> None:
    s, warnings = load(EXAMPLE_CONFIG, env={})
    assert s.tokens == []
    assert len(warnings) == 3
    for name, var in (
        ("alertmanager", "ALERTBRIDGE_TOKEN_ALERTMANAGER"),
        ("zabbix", "ALERTBRIDGE_TOKEN_ZABBIX"),
        ("engineers", "ALERTBRIDGE_TOKEN_ENGINEER"),
    ):
        assert any(f"'{name}'" in w and var in w for w in warnings), warnings


def test_one_unset_token_is_dropped_others_kept() -> None:
    env = {k: v for k, v in TOKENS.items() if k != "ALERTBRIDGE_TOKEN_ZABBIX"}
    s, warnings = load(EXAMPLE_CONFIG, env=env)
    assert [t.name for t in s.tokens] == ["alertmanager", "engineers"]
    assert warnings == ["token 'zabbix' has no value (set ALERTBRIDGE_TOKEN_ZABBIX): requests with it are refused"]


def test_token_set_to_empty_is_dropped() -> None:
    s, warnings = load(EXAMPLE_CONFIG, env={**TOKENS, "ALERTBRIDGE_TOKEN_ENGINEER": ""})
    assert [t.name for t in s.tokens] == ["alertmanager", "zabbix"]
    assert "ALERTBRIDGE_TOKEN_ENGINEER" in warnings[0]


def test_hashed_token_needs_no_environment(tmp_path: Path) -> None:
    data = example()
    data["tokens"] = [{"name": "portal", "sha256": "ab" * 32, "scopes": ["read"], "customer": "acme"}]
    s, warnings = load(write(tmp_path, data), env={})
    assert warnings == []
    assert s.tokens[0].digest() == "ab" * 32
    assert s.tokens[0].customer == "acme"


def test_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in TOKENS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ALERTBRIDGE_PUBLIC_URL", "https://bridge.msp.example")
    monkeypatch.delenv("ALERTBRIDGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALERTBRIDGE_SMTP_URL", raising=False)
    s, _ = load(EXAMPLE_CONFIG)
    assert s.public_url == "https://bridge.msp.example"
    assert len(s.tokens) == 3


# --- ${ENV} references --------------------------------------------------------------------------------


def test_env_reference_and_default(tmp_path: Path) -> None:
    p = write(tmp_path, "listen: ${LISTEN}\npublic_url: ${URL:-http://x.example}\nmsp_name: MSP ${NAME:-co}!\n")
    s, warnings = load(p, env={"LISTEN": "0.0.0.0:9000"})
    assert (s.listen, s.public_url, s.msp_name) == ("0.0.0.0:9000", "http://x.example", "MSP co!")
    assert warnings == []
    s, _ = load(p, env={"LISTEN": "0.0.0.0:9000", "URL": "https://y.example", "NAME": "Ltd"})
    assert (s.public_url, s.msp_name) == ("https://y.example", "MSP Ltd!")


def test_empty_env_value_takes_the_default(tmp_path: Path) -> None:
    p = write(tmp_path, "public_url: ${URL:-http://default.example}\n")
    s, _ = load(p, env={"URL": ""})
    assert s.public_url == "http://default.example"


def test_unset_reference_without_default_warns_naming_key_and_var(tmp_path: Path) -> None:
    p = write(tmp_path, "public_url: ${ALERTBRIDGE_PUBLIC_URL}\n")
    s, warnings = load(p, env={})
    assert s.public_url == ""
    assert warnings == ["public_url (${ALERTBRIDGE_PUBLIC_URL}) is not set"]


def test_env_references_in_nested_lists(tmp_path: Path) -> None:
    data = example()
    data["customers"][0]["curators"][0]["email"] = "${ACME_CURATOR}"
    s, _ = load(write(tmp_path, data), env={**TOKENS, "ACME_CURATOR": "boss@acme.example"})
    acme = s.customer("acme")
    assert acme is not None and acme.curators[0].email == "boss@acme.example"


def test_env_values_are_not_interpolated_twice(tmp_path: Path) -> None:
    p = write(tmp_path, "msp_name: ${A}\n")
    s, _ = load(p, env={"A": "${B}", "B": "nope"})
    assert s.msp_name == "${B}"


def test_non_string_values_are_left_alone(tmp_path: Path) -> None:
    p = write(tmp_path, "limits:\n  max_body_bytes: 2048\nlifecycle:\n  reopen_window: 90\n")
    s, _ = load(p, env={})
    assert s.limits.max_body_bytes == 2048
    assert s.lifecycle.reopen_window == 90.0


def test_duration_from_env_as_plain_seconds(tmp_path: Path) -> None:
    p = write(tmp_path, "lifecycle:\n  reopen_window: ${REOPEN:-1800}\n")
    s, _ = load(p, env={})
    assert s.lifecycle.reopen_window == 1800.0


# --- overrides ---------------------------------------------------------------------------------------------


def test_database_url_override() -> None:
    s, _ = load(EXAMPLE_CONFIG, env={**TOKENS, "ALERTBRIDGE_DATABASE_URL": "postgresql://ab@db/alertbridge"})
    assert s.database_url == "postgresql://ab@db/alertbridge"


def test_smtp_url_override() -> None:
    s, _ = load(EXAMPLE_CONFIG, env={**TOKENS, "ALERTBRIDGE_SMTP_URL": "smtp+starttls://u:p@mail.example:587"})
    assert s.mail.smtp_url == "smtp+starttls://u:p@mail.example:587"
    assert s.mail.sender == "Example MSP service desk <servicedesk@msp.example>"  # rest of mail kept


def test_smtp_url_override_without_a_mail_section(tmp_path: Path) -> None:
    s, _ = load(write(tmp_path, "listen: 127.0.0.1:1\n"), env={"ALERTBRIDGE_SMTP_URL": "smtps://mail.example:465"})
    assert s.mail.smtp_url == "smtps://mail.example:465"


def test_empty_overrides_are_ignored() -> None:
    s, _ = load(EXAMPLE_CONFIG, env={**TOKENS, "ALERTBRIDGE_DATABASE_URL": "", "ALERTBRIDGE_SMTP_URL": ""})
    assert s.database_url == "sqlite:///var/alertbridge.db"
    assert s.mail.smtp_url is None


def test_bad_smtp_override_is_an_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        load(EXAMPLE_CONFIG, env={**TOKENS, "ALERTBRIDGE_SMTP_URL": "mail.example:25"})
    assert "mail.smtp_url" in str(err.value)


# --- files ----------------------------------------------------------------------------------------------------


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    s, warnings = load(write(tmp_path, ""), env={})
    assert s == Settings()
    assert warnings == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path / "nope.yaml", env={})
    assert "nope.yaml" in str(err.value) and "cannot read" in str(err.value)


def test_not_yaml(tmp_path: Path) -> None:
    msg = load_error(tmp_path, "listen: [unclosed\n")
    assert "not valid YAML" in msg and "alertbridge.yaml" in msg


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_not_a_mapping(tmp_path: Path, text: str) -> None:
    assert "top level must be a mapping" in load_error(tmp_path, text)


# --- errors naming the key ------------------------------------------------------------------------------------------


def mutated(fn: Any) -> dict[str, Any]:
    data = example()
    fn(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda d: d.__setitem__("misspelt", 1), "misspelt: unknown key (misspelt?)", id="unknown-top"),
        pytest.param(
            lambda d: d["mail"].__setitem__("smpt_url", "smtp://x"), "mail.smpt_url: unknown key", id="unknown-nested"
        ),
        pytest.param(
            lambda d: d["customers"][1]["services"][0]["match"].__setitem__("hostz", []),
            "customers[globex].services[mail].match.hostz: unknown key",
            id="unknown-deep",
        ),
        pytest.param(
            lambda d: d["customers"][0]["curators"][0].__setitem__("email", "not-an-email"),
            "customers[acme].curators[",
            id="bad-email",
        ),
        pytest.param(
            lambda d: d["lifecycle"].__setitem__("reopen_window", "soon"), "lifecycle.reopen_window", id="bad-duration"
        ),
        pytest.param(
            lambda d: d.__setitem__("outbox", {"backoff_max": "forever"}),
            "outbox.backoff_max",
            id="bad-outbox-duration",
        ),
        pytest.param(
            lambda d: d["mail"].__setitem__("smtp_url", "http://mail.example"), "mail.smtp_url", id="bad-smtp-url"
        ),
        pytest.param(
            lambda d: d["tokens"][1].__setitem__("scopes", ["root"]), "tokens[zabbix].scopes[0]", id="bad-scope"
        ),
        pytest.param(lambda d: d["tokens"][2].__setitem__("scopes", []), "tokens[engineers].scopes", id="no-scopes"),
        pytest.param(
            lambda d: d["customers"][1].__setitem__("id", "Globex Corp"),
            "customers[Globex Corp].id",
            id="bad-customer-id",
        ),
        pytest.param(
            lambda d: d["classifier"].__setitem__("default_kind", "panic"),
            "classifier.default_kind",
            id="bad-default-kind",
        ),
        pytest.param(
            lambda d: d["limits"].__setitem__("max_body_bytes", 10), "limits.max_body_bytes", id="tiny-body-limit"
        ),
        pytest.param(lambda d: d["desk"].__setitem__("number_prefix", "AB/"), "desk.number_prefix", id="bad-prefix"),
        pytest.param(
            lambda d: d["customers"][0]["services"][1].__setitem__("curators", ["who@else.example"]),
            "customers[acme]",
            id="service-curator-unknown",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: Any, expected: str) -> None:
    msg = load_error(tmp_path, mutated(change))
    assert "invalid configuration" in msg
    assert expected in msg, msg


def test_duplicate_customer_ids(tmp_path: Path) -> None:
    msg = load_error(tmp_path, mutated(lambda d: d["customers"].append(copy.deepcopy(d["customers"][0]))))
    assert "customer ids must be unique" in msg and "acme" in msg


def test_duplicate_token_names(tmp_path: Path) -> None:
    msg = load_error(tmp_path, mutated(lambda d: d["tokens"].append(copy.deepcopy(d["tokens"][0]))))
    assert "token names must be unique" in msg and "alertmanager" in msg


def test_unmatched_customer_unknown(tmp_path: Path) -> None:
    msg = load_error(tmp_path, mutated(lambda d: d.__setitem__("unmatched_customer", "internal")))
    assert "unmatched_customer" in msg and "'internal'" in msg


def test_unmatched_customer_known(tmp_path: Path) -> None:
    s, _ = load(write(tmp_path, mutated(lambda d: d.__setitem__("unmatched_customer", "globex"))), env=TOKENS)
    assert s.unmatched_customer == "globex"


def test_token_bound_to_unknown_customer(tmp_path: Path) -> None:
    msg = load_error(
        tmp_path,
        mutated(
            lambda d: d["tokens"].append(
                {"name": "portal", "sha256": "0" * 64, "scopes": ["read"], "customer": "initech"}
            )
        ),
    )
    assert "token 'portal'" in msg and "'initech'" in msg


def test_bad_sha256(tmp_path: Path) -> None:
    msg = load_error(
        tmp_path, mutated(lambda d: d["tokens"].append({"name": "portal", "sha256": "XYZ", "scopes": ["read"]}))
    )
    assert "tokens[portal].sha256" in msg


def test_error_names_the_file(tmp_path: Path) -> None:
    msg = load_error(tmp_path, mutated(lambda d: d.__setitem__("misspelt", 1)))
    assert msg.startswith(str(tmp_path / "alertbridge.yaml"))


def test_several_errors_are_listed(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["misspelt"] = 1
        d["mail"]["smtp_url"] = "http://x"

    msg = load_error(tmp_path, mutated(change))
    assert "misspelt" in msg and "mail.smtp_url" in msg


def test_smtp_url_forms(tmp_path: Path) -> None:
    for url in ("smtp://127.0.0.1:25", "smtps://mail.example:465", "smtp+starttls://u:p@mail.example:587"):
        s, _ = load(write(tmp_path, {"mail": {"smtp_url": url}}), env={})
        assert s.mail.smtp_url == url


def test_durations_in_config(tmp_path: Path) -> None:
    data = {
        "lifecycle": {"reopen_window": "1h30m"},
        "outbox": {"poll_interval": "2s", "backoff_max": "10m", "lease": 30, "backoff_initial": 0.5},
    }
    s, _ = load(write(tmp_path, data), env={})
    assert s.lifecycle.reopen_window == 5400.0
    assert (s.outbox.poll_interval, s.outbox.backoff_max, s.outbox.lease, s.outbox.backoff_initial) == (
        2.0,
        600.0,
        30.0,
        0.5,
    )


# --- parse_duration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (45, 45.0),
        (1.5, 1.5),
        ("0s", 0.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        (" 2d ", 172800.0),
        ("1d2h3m4s", 93784.0),
        ("90m", 5400.0),
    ],
)
def test_parse_duration(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "  ", "soon", "1x", "h", "30m1h", "-5m", "1.5h", -1, -0.5, True, False, None, [], {"m": 1}]
)
def test_parse_duration_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_parse_duration_seconds_as_string() -> None:
    assert parse_duration("3600") == 3600.0


RT_ENV = {"ALERTBRIDGE_RT_URL": "http://rt.example:8080", "ALERTBRIDGE_RT_USER": "ab", "ALERTBRIDGE_RT_PASSWORD": "pw"}
RT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "rt.example.yaml"


def test_rt_example_loads_with_its_environment() -> None:
    s, _ = load(RT_CONFIG, env=RT_ENV)
    assert s.desks["rt"].url == "http://rt.example:8080" and s.desks["rt"].incident_queue == "Incidents"
    assert [c.desk for c in s.customers] == ["rt", None]


def test_rt_example_without_its_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"desks\.rt\.url.*ALERTBRIDGE_RT_URL\} is not set"):
        load(RT_CONFIG, env={})


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d: d["customers"][1].update(desk="otrs"), "uses desk 'otrs', which is not defined"),
        (lambda d: d["desks"]["rt"].update(user="", password="", token=""), "set token, or user and password"),
        (lambda d: d["desks"]["rt"].update(url="rt.example"), "must start with http"),
        (lambda d: d["desks"]["rt"].update(backend="jira2"), "desks.rt.backend"),
        (lambda d: d["desks"]["rt"].update(queue="x"), "unknown key"),
    ],
)
def test_bad_desk_settings_are_refused(tmp_path: Path, change: Any, error: str) -> None:
    data = yaml.safe_load(RT_CONFIG.read_text())
    change(data)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=error):
        load(path, env=RT_ENV)


def test_durations_everywhere_accept_units(tmp_path: Path) -> None:
    data = yaml.safe_load(RT_CONFIG.read_text())
    data["lifecycle"] = {"storm_window": "10m", "reopen_window": "2h"}
    data["zabbix"] = {"url": "https://zbx.example", "token": "t", "reconcile_interval": "1m", "timeout": "5s"}
    data["desks"]["rt"]["timeout"] = "30s"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    s, _ = load(path, env=RT_ENV)
    assert (s.lifecycle.storm_window, s.zabbix.reconcile_interval, s.desks["rt"].timeout) == (600.0, 60.0, 30.0)
    assert s.zabbix.enabled


def test_zabbix_write_back_needs_credentials(tmp_path: Path) -> None:
    data = yaml.safe_load(RT_CONFIG.read_text())
    data["zabbix"] = {"url": "https://zbx.example"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"zabbix: .*set token, or user and password"):
        load(path, env=RT_ENV)
