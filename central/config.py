"""The central service's configuration file (docs/central.md).

TOML read with stdlib ``tomllib`` and validated by pydantic with
``extra="forbid"``: a misspelt key is an error, not a silent default. Every
error names the key path, the value and the fix. Secrets may be given inline
or, better, as ``*_file`` paths readable only by the service account.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from central.errors import ConfigError, Problem
from central.web.settings import WebConfig
from protocol import is_tenant
from protocol.broker_url import BrokerAddress, check_broker_url

_PHONE_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret(value: str | None, path: Path | None, key: str) -> str | None:
    if value is not None and path is not None:
        raise ValueError(f"{key} is given twice; fix: give {key} or {key}_file, not both")
    if path is None:
        return value
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        fix = "check the path and its permissions"
        raise ValueError(f"cannot read {key}_file: {exc.strerror}; fix: {fix}") from exc


class _WithPassword(_Section):
    """A section with a password given inline or, better, as a file."""

    password: str | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _read_password(self) -> _WithPassword:
        object.__setattr__(self, "password", _secret(self.password, self.password_file, "password"))
        return self


class BrokerConfig(BrokerAddress, _WithPassword):
    """How the service reaches the MQTT broker with its own (central) account."""

    url: str = "mqtt://127.0.0.1:1883"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    client_id: str = "driftvakt-central"
    shared_group: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    reconnect_min_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 60.0
    connect_timeout_s: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_broker_url(value)

    @model_validator(mode="after")
    def _tls_files(self) -> BrokerConfig:
        if self.tls and self.ca_file is None:
            raise ValueError(
                "mqtts:// without ca_file; fix: set broker.ca_file to the CA of the broker"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(
                "half a client certificate; fix: give cert_file and key_file, or neither"
            )
        return self


class DatabaseConfig(_Section):
    """SQLAlchemy URL: SQLite for one municipality, PostgreSQL to scale out."""

    url: str = "sqlite:///driftvakt-central.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            fix = "write sqlite:///PATH or postgresql+psycopg://user@host/db"
            raise ValueError(f"unsupported database; fix: {fix}")
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


class Contact(_Section):
    """Where one role (or one home-care group) is reached."""

    email: list[str] = Field(default_factory=list)
    phone: list[str] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _email(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _EMAIL_RE.match(item):
                raise ValueError(f"{item!r} is not an e-mail address; fix: write name@example.se")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _PHONE_RE.match(item):
                raise ValueError(
                    f"{item!r} is not a phone number; fix: E.164 form, e.g. +46701234567"
                )
        return value


class Contacts(_Section):
    """Role id (ROUTINE.md) to addresses; ``groups`` holds each ``hemtjanstgrupp``."""

    roles: dict[str, Contact] = Field(default_factory=dict)
    groups: dict[str, Contact] = Field(default_factory=dict)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, Contact]) -> dict[str, Contact]:
        for role in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", role):
                raise ValueError(
                    f"role id {role!r} is not an id; fix: lower-case, e.g. larmgruppen"
                )
        return value


class SmtpConfig(_WithPassword):
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    from_addr: str = "driftvakt@localhost"
    timeout_s: Annotated[float, Field(gt=0)] = 20.0


class SmsConfig(_WithPassword):
    """A 46elks-compatible HTTP API: form post of from/to/message with basic auth."""

    url: str = "https://api.46elks.com/a1/sms"
    username: str = ""
    sender: Annotated[str, Field(min_length=1, max_length=11)] = "Driftvakt"
    timeout_s: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("not an HTTP URL; fix: the http(s):// URL of the SMS API")
        return value


class WebhookConfig(_Section):
    url: str
    timeout_s: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("not an HTTP URL; fix: an http(s):// URL that accepts a JSON POST")
        return value


class Addresses(_Section):
    """Vendor and IT function; defaults are the shipped Botkyrka policy's (ROUTINE.md)."""

    vendor_email: str = "support@phoniro.com"
    vendor_phone: str = "010-456 72 20"
    it_email: str = "vof.it-bestallningar@botkyrka.se"


class LinksConfig(_Section):
    """Signed acknowledgement links in messages point at the dashboard."""

    public_url: str = "http://localhost:8080"
    secret: str | None = None
    secret_file: Path | None = None
    max_age_h: Annotated[float, Field(gt=0)] = 72.0

    @model_validator(mode="after")
    def _secret_given(self) -> LinksConfig:
        value = _secret(self.secret, self.secret_file, "secret")
        if value is None or len(value) < 16:
            raise ValueError("secret missing or short; fix: 16+ characters (openssl rand -hex 32)")
        object.__setattr__(self, "secret", value)
        return self


class TimingConfig(_Section):
    """Loop intervals and outbox back-off, in seconds; tests shorten them."""

    timer_poll_s: Annotated[float, Field(gt=0)] = 1.0
    outbox_poll_s: Annotated[float, Field(gt=0)] = 1.0
    liveness_poll_s: Annotated[float, Field(gt=0)] = 15.0
    retry_base_s: Annotated[float, Field(gt=0)] = 30.0
    retry_max_s: Annotated[float, Field(gt=0)] = 900.0
    max_attempts: Annotated[int, Field(ge=1)] = 30


class CentralConfig(_Section):
    tenants: Annotated[list[str], Field(min_length=1)]
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    policy: Path | None = None
    """``None``: the shipped Botkyrka policy."""
    registry: Path | None = None
    contacts: Contacts = Field(default_factory=Contacts)
    smtp: SmtpConfig | None = None
    sms: SmsConfig | None = None
    webhook: WebhookConfig | None = None
    addresses: Addresses = Field(default_factory=Addresses)
    links: LinksConfig
    timing: TimingConfig = Field(default_factory=TimingConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    @field_validator("tenants")
    @classmethod
    def _tenants(cls, value: list[str]) -> list[str]:
        for tenant in value:
            if not is_tenant(tenant):
                raise ValueError(
                    f"tenant {tenant!r} is not a tenant id; fix: lower-case a-z, 0-9, '-'"
                )
        if len(set(value)) != len(value):
            raise ValueError("a tenant is listed twice; fix: list each once")
        return value


def parse_config(data: dict[str, Any], source: str = "<config>") -> CentralConfig:
    """Validate an already-read TOML document.

    :raises ConfigError: listing every bad key with its value and the fix.
    """
    try:
        return CentralConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors(include_url=False)]
        raise ConfigError(source, problems) from None


def load_config(path: Path) -> CentralConfig:
    """Read and validate a configuration file.

    :raises ConfigError: when it cannot be read or is invalid.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fix = "pass --config with the path of a readable file"
        raise ConfigError(
            str(path), [Problem("file", str(path), exc.strerror or "", fix)]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        problem = Problem("file", str(path), f"not valid TOML: {exc}", "correct the TOML syntax")
        raise ConfigError(str(path), [problem]) from None
    return parse_config(data, str(path))


def _problem(err: Any) -> Problem:
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    value = err.get("input")
    shown = "(a table)" if isinstance(value, dict) else repr(value)
    if err["type"] == "extra_forbidden":
        return Problem(
            where, shown, "unknown key", "remove it or fix its spelling (docs/central.md)"
        )
    if err["type"] == "missing":
        return Problem(where, "nothing", "required key is missing", "add it (central.example.toml)")
    message, _, fix = str(err["msg"]).removeprefix("Value error, ").partition("; fix: ")
    return Problem(where, shown, message, fix or "see docs/central.md")
