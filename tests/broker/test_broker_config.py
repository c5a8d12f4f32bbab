"""The rendered ACL, password file and mosquitto.conf, as text (no broker needed)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from sim.broker_config import (
    BrokerSettings,
    CentralAccount,
    GatewayAccount,
    TlsFiles,
    password_line,
    render_acl,
    render_mosquitto_conf,
    render_password_file,
)


def user_block(acl: str, username: str) -> list[str]:
    """The ``topic`` lines of one user's block."""
    lines = acl.splitlines()
    start = lines.index(f"user {username}") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("topic "):
            break
        block.append(line)
    return block


def test_render_acl_gateway_writes_own_prefix_reads_own_cmd() -> None:
    acl = render_acl([GatewayAccount("botkyrka", "gw-0042")])

    assert user_block(acl, "gw-0042") == [
        "topic write driftvakt/v1/botkyrka/gw-0042/availability",
        "topic write driftvakt/v1/botkyrka/gw-0042/state",
        "topic write driftvakt/v1/botkyrka/gw-0042/events",
        "topic write driftvakt/v1/botkyrka/gw-0042/cmd/result",
        "topic read driftvakt/v1/botkyrka/gw-0042/cmd",
    ]


def test_render_acl_central_reads_all_writes_cmd_and_own_topics() -> None:
    acl = render_acl([CentralAccount(("botkyrka", "huddinge"))])

    assert user_block(acl, "central") == [
        "topic read driftvakt/v1/#",
        "topic write driftvakt/v1/+/+/cmd",
        "topic readwrite driftvakt/v1/botkyrka/_central/#",
        "topic readwrite driftvakt/v1/huddinge/_central/#",
    ]


def test_render_acl_grants_nothing_before_the_first_user() -> None:
    acl = render_acl([GatewayAccount("botkyrka", "gw-1"), CentralAccount(("botkyrka",))])

    before_first_user = acl.split("\nuser ", 1)[0]
    assert [ln for ln in before_first_user.splitlines() if ln and not ln.startswith("#")] == []
    assert acl.count("\nuser ") == 2


def test_render_acl_no_gateway_line_grants_any_write_to_cmd() -> None:
    gateways = [GatewayAccount("botkyrka", f"gw-{i}") for i in range(50)]
    acl = render_acl(gateways)

    writes = [ln.split()[2] for ln in acl.splitlines() if ln.startswith("topic write")]
    assert len(writes) == 200
    assert not [t for t in writes if t.endswith("/cmd") or "#" in t or "+" in t]


def test_render_acl_rejects_duplicate_user_names() -> None:
    with pytest.raises(ValueError, match="duplicate broker user name 'gw-1'"):
        render_acl([GatewayAccount("botkyrka", "gw-1"), GatewayAccount("huddinge", "gw-1")])


@pytest.mark.parametrize(
    ("tenant", "gateway"), [("Botkyrka", "gw-1"), ("botkyrka", "_central"), ("botkyrka", "a/b")]
)
def test_gateway_account_rejects_names_outside_the_contract(tenant: str, gateway: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        GatewayAccount(tenant, gateway)


def test_central_account_rejects_bad_tenant_and_user_name() -> None:
    with pytest.raises(ValueError, match="tenant"):
        CentralAccount(("Bad Tenant",))
    with pytest.raises(ValueError, match="user name"):
        CentralAccount(("botkyrka",), username="central service")


def test_password_line_equals_mosquitto_passwd_for_the_same_salt(tmp_path: Path) -> None:
    reference = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(reference), "gw-0042", "s3cret:with$odd chars"],
        check=True,
        capture_output=True,
    )
    line = reference.read_text().strip()
    salt = base64.b64decode(line.split("$")[3])

    assert password_line("gw-0042", "s3cret:with$odd chars", salt) == line


def test_render_password_file_one_line_per_user() -> None:
    text = render_password_file({"a": "x", "b": "y"}, {"a": b"1" * 12, "b": b"2" * 12})

    assert [ln.split(":")[0] for ln in text.splitlines()] == ["a", "b"]
    assert all(ln.split(":", 1)[1].startswith("$7$101$") for ln in text.splitlines())


def test_password_line_rejects_colon_in_user_name() -> None:
    with pytest.raises(ValueError, match="password file"):
        password_line("a:b", "x", b"0" * 12)


def test_render_mosquitto_conf_tls_only_with_certificate_and_password() -> None:
    conf = render_mosquitto_conf(
        BrokerSettings(
            port=8883,
            bind_address=None,
            tls=TlsFiles(
                Path("/etc/m/ca.crt"), Path("/etc/m/server.crt"), Path("/etc/m/server.key")
            ),
            password_file=Path("/etc/m/passwords"),
            acl_file=Path("/etc/m/acl"),
            persistence_dir=Path("/var/lib/mosquitto"),
        )
    )
    settings = [ln for ln in conf.splitlines() if ln and not ln.startswith("#")]

    assert [ln for ln in settings if ln.startswith("listener")] == ["listener 8883"]
    for expected in (
        "allow_anonymous false",
        "password_file /etc/m/passwords",
        "acl_file /etc/m/acl",
        "require_certificate true",
        "use_identity_as_username false",
        "cafile /etc/m/ca.crt",
        "set_tcp_nodelay true",
        "persistence true",
        "persistence_location /var/lib/mosquitto/",
    ):
        assert expected in settings
    assert not [ln for ln in settings if ln.startswith("user ")]
