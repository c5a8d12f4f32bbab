"""The playbooks and roles pass ansible-lint's production profile and a syntax check."""

from __future__ import annotations

import os
import subprocess

from tests.deploy.ansible_run import ANSIBLE_DIR, BIN, VAULT_PASSWORD_FILE, tool


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "NO_COLOR": "1"}
    return subprocess.run(
        cmd, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, check=False
    )


def test_ansible_lint_production_profile_passes() -> None:
    proc = _run(tool("ansible-lint"), "--profile", "production", "--offline")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_site_syntax_check_passes() -> None:
    proc = _run(
        tool("ansible-playbook"),
        "--syntax-check",
        "--vault-password-file",
        str(VAULT_PASSWORD_FILE),
        "site.yml",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playbook: site.yml" in proc.stdout
