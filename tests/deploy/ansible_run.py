"""Running the project's real playbooks from the tests.

The tests call ansible-playbook from the venv (ansible-core is in the dev
extra) with deploy/ansible as the working directory, so ansible.cfg, the roles
and the filter plugins are the ones production uses. Inventories are made in
a temporary directory whose group_vars are the example inventory's own
(vault included), so the tests exercise the variables a technician copies.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
EXAMPLE = ANSIBLE_DIR / "inventories" / "example"
VAULT_PASSWORD_FILE = EXAMPLE / "vault-password.txt"
BIN = Path(sys.executable).parent

_RECAP = re.compile(
    r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)


@dataclass(frozen=True)
class PlayResult:
    """What one ansible-playbook run reported, per host."""

    returncode: int
    output: str
    changed: dict[str, int]
    failed: dict[str, int]

    def check(self) -> PlayResult:
        assert self.returncode == 0, self.output[-6000:]
        return self


def tool(name: str) -> str:
    """Path of an Ansible command in this venv."""
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make venv` (ansible-core is in .[dev])")
    return str(path)


def make_inventory(root: Path, hosts: dict[str, Any]) -> Path:
    """An inventory directory with the given hosts.yml and the example's group_vars."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    shutil.copytree(EXAMPLE / "group_vars", root / "group_vars", dirs_exist_ok=True)
    return root / "hosts.yml"


def run_playbook(
    inventory: Path,
    extra_vars: dict[str, Any],
    *args: str,
    playbook: str = "site.yml",
    env: dict[str, str] | None = None,
) -> PlayResult:
    """Run a playbook of deploy/ansible and parse its recap."""
    vars_file = inventory.parent / "extra-vars.yml"
    vars_file.write_text(yaml.safe_dump(extra_vars))
    cmd = [
        tool("ansible-playbook"),
        "-i",
        str(inventory),
        "--vault-password-file",
        str(VAULT_PASSWORD_FILE),
        "-e",
        f"@{vars_file}",
        playbook,
        *args,
    ]
    full_env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
    full_env["PATH"] = f"{BIN}{os.pathsep}{full_env.get('PATH', '')}"
    proc = subprocess.run(
        cmd, cwd=ANSIBLE_DIR, env=full_env, capture_output=True, text=True, check=False
    )
    output = proc.stdout + proc.stderr
    recap = _RECAP.findall(output)
    return PlayResult(
        returncode=proc.returncode,
        output=output,
        changed={host: int(changed) for host, _ok, changed, _u, _f in recap},
        failed={host: int(failed) for host, _ok, _c, _u, failed in recap},
    )


def filters() -> ModuleType:
    """The roles' Jinja filter module (deploy/ansible/filter_plugins/driftvakt.py)."""
    path = ANSIBLE_DIR / "filter_plugins" / "driftvakt.py"
    spec = importlib.util.spec_from_file_location("driftvakt_ansible_filters", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_vault() -> dict[str, Any]:
    """The example vault, decrypted with its documented password."""
    proc = subprocess.run(
        [
            tool("ansible-vault"),
            "view",
            "--vault-password-file",
            str(VAULT_PASSWORD_FILE),
            str(EXAMPLE / "group_vars" / "all" / "vault.yml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = yaml.safe_load(proc.stdout)
    assert isinstance(data, dict)
    return data


def issue_client_cert(pki: Path, account: str, ca_passphrase: str) -> None:
    """What the gateway role does on the control node, for a test client."""
    key, crt = pki / f"test-{account}.key", pki / f"test-{account}.crt"
    genkey = ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(
        [*genkey, "-out", str(key)],
        check=True,
        capture_output=True,
    )
    sign = ["-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"), "-passin", "env:CA_PASS"]
    usage = ["-days", "2", "-addext", "extendedKeyUsage=clientAuth"]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            str(key),
            *sign,
            *usage,
            "-subj",
            f"/CN={account}",
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "CA_PASS": ca_passphrase},
    )
