"""Jinja filters the Driftvakt roles share, run on the control node.

Why here and not in a collection: the roles need three small pure functions
(read a relay-board TOML profile, derive per-account MQTT passwords, write
Mosquitto password hashes), and a playbook-adjacent filter_plugins directory
needs no Galaxy install.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tomllib
from typing import Any

# Mosquitto 2.0's default hash: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte
# salt, written as $7$<iterations>$<b64 salt>$<b64 hash> (mosquitto_passwd -H sha512-pbkdf2).
_PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12


def from_toml(text: str) -> dict[str, Any]:
    """Parse TOML text (a relay-board profile) into a dict."""
    return tomllib.loads(text)


def to_toml(data: dict[str, Any]) -> str:
    """Write a dict of scalars, lists and nested dicts as TOML.

    Enough for the central service's configuration: the role stays ignorant of
    its keys (the inventory holds them) and the service's own validator
    (``extra="forbid"``) judges them. Strings are written as JSON strings,
    which are valid TOML basic strings.

    :param dict data: the document; ``None`` values are left out.
    """
    return "\n".join(_toml_table([], data)).lstrip("\n") + "\n"


def _toml_table(path: list[str], table: dict[str, Any]) -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in table.items() if _is_value(v)]
    if path and (lines or not any(isinstance(v, dict) for v in table.values())):
        lines.insert(0, f"\n[{'.'.join(_toml_key(p) for p in path)}]")
    for key, value in table.items():
        if isinstance(value, dict):
            lines += _toml_table([*path, key], value)
        elif _is_table_list(value):
            for item in value:
                header = ".".join(_toml_key(p) for p in [*path, key])
                lines += [f"\n[[{header}]]", *_toml_table([], item)]
    return lines


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_value(value: Any) -> bool:
    return value is not None and not isinstance(value, dict) and not _is_table_list(value)


def _toml_key(key: str) -> str:
    bare = key.replace("-", "").replace("_", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def mqtt_password(seed: str, account: str) -> str:
    """Derive an account's broker password from the vault's seed.

    The broker and the client roles compute the same value independently, so
    hundreds of gateways need no per-gateway vault entry; rotating the seed
    rotates every password. One gateway's password reveals nothing of another's.

    :param str seed: the secret seed (ansible-vault).
    :param str account: the broker username.
    """
    if not seed:
        raise ValueError("mqtt_password: the seed is empty; set vault_mqtt_password_seed")
    digest = hmac.new(seed.encode(), b"driftvakt-mqtt:" + account.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def mosquitto_hash(password: str, account: str) -> str:
    """Hash a password the way mosquitto_passwd does, with a stable salt.

    The salt comes from the password and account, so a second playbook run
    writes the same file (idempotence) while two accounts never share a salt.

    :param str password: the plain password.
    :param str account: the username, mixed into the salt.
    """
    salt = hmac.new(password.encode(), b"salt:" + account.encode(), hashlib.sha256).digest()
    salt = salt[:_SALT_BYTES]
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${_PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(key).decode()}"


class FilterModule:
    """Registers the filters with Ansible."""

    def filters(self) -> dict[str, Any]:
        return {
            "driftvakt_from_toml": from_toml,
            "driftvakt_to_toml": to_toml,
            "driftvakt_mqtt_password": mqtt_password,
            "driftvakt_mosquitto_hash": mosquitto_hash,
        }
