"""The roles' Jinja filters (deploy/ansible/filter_plugins/driftvakt.py)."""

from __future__ import annotations

import base64
import hashlib
import tomllib

from tests.deploy.ansible_run import filters


def test_mqtt_password_differs_per_account_and_seed() -> None:
    f = filters()
    passwords = {f.mqtt_password(seed, account) for seed in ("s1", "s2") for account in ("a", "b")}
    assert len(passwords) == 4
    assert f.mqtt_password("s1", "a") == f.mqtt_password("s1", "a")


def test_mosquitto_hash_is_pbkdf2_sha512_in_mosquitto_passwd_format() -> None:
    line = filters().mosquitto_hash("secret", "gw-0001")
    _, kind, iterations, salt, digest = line.split("$")
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", base64.b64decode(salt), int(iterations))
    assert (kind, iterations, len(base64.b64decode(salt))) == ("7", "101", 12)
    assert base64.b64decode(digest) == expected


def test_mosquitto_hash_is_stable_but_salted_per_account() -> None:
    f = filters()
    assert f.mosquitto_hash("pw", "a") == f.mosquitto_hash("pw", "a")
    assert f.mosquitto_hash("pw", "a").split("$")[3] != f.mosquitto_hash("pw", "b").split("$")[3]


def test_to_toml_round_trips_nested_tables_and_lists() -> None:
    data = {
        "tenants": ["botkyrka"],
        "broker": {"url": 'mqtts://x:8883 "q"', "keepalive_s": 30, "tls": True},
        "contacts": {"roles": {"larmgruppen": {"email": ["a@example.org"]}}},
        "timing": {"retry_base_s": 30.5, "unset": None},
        "rules": [{"a": 1}, {"a": 2}],
    }
    text = filters().to_toml(data)
    expected = {**data, "timing": {"retry_base_s": 30.5}}
    assert tomllib.loads(text) == expected
