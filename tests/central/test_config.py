import tomllib
from pathlib import Path

import pytest

from central.config import load_config, parse_config
from central.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "firmware-config" / "central.example.toml"


def _minimal(**extra: object) -> dict[str, object]:
    return {"tenants": ["botkyrka"], "links": {"secret": "x" * 32}, **extra}


def test_config_example_file_is_valid(tmp_path: Path) -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    for section in ("broker", "smtp", "sms"):
        data[section].pop("password_file")
    data["broker"]["ca_file"] = str(tmp_path / "ca.pem")
    data["links"] = {"secret": "s" * 32, "public_url": "https://driftvakt.botkyrka.se"}
    config = parse_config(data)
    assert config.broker.tls and config.broker.port == 8883
    assert config.contacts.groups["tumba-norra"].phone == ["+46701234571"]
    assert config.smtp is not None and config.smtp.security == "starttls"


def test_config_defaults_sqlite_and_no_channels() -> None:
    config = parse_config(_minimal())
    assert config.database.url.startswith("sqlite:///")
    assert config.smtp is None and config.sms is None and config.policy is None


def test_config_unknown_key_names_key_value_and_fix() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_minimal(smtp={"hots": "mail"}), "c.toml")
    expected = "smtp.hots: unknown key (got 'mail'); fix: remove it or fix its spelling"
    assert err.value.source == "c.toml"
    assert expected in str(err.value)


def test_config_bad_phone_names_fix() -> None:
    data = _minimal(contacts={"roles": {"larmgruppen": {"phone": ["0701234567"]}}})
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert "contacts.roles.larmgruppen.phone" in str(err.value)
    assert "fix: E.164 form, e.g. +46701234567" in str(err.value)


def test_config_tls_without_ca_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"fix: set broker\.ca_file"):
        parse_config(_minimal(broker={"url": "mqtts://broker:8883"}))


def test_config_secret_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("0123456789abcdef0123\n")
    config = parse_config({"tenants": ["a"], "links": {"secret_file": str(secret)}})
    assert config.links.secret == "0123456789abcdef0123"


def test_config_missing_links_and_bad_db_url() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"tenants": ["botkyrka"], "database": {"url": "mysql://x"}})
    text = str(err.value)
    assert "links: required key is missing (got nothing)" in text
    assert "database.url: unsupported database (got 'mysql://x'); fix: write sqlite:///" in text


def test_config_unreadable_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("tenants = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
