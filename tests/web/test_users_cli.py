import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.cli import main
from central.store import Store
from central.web.accounts import Accounts


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(
        'tenants = ["botkyrka"]\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
        '[links]\nsecret = "0123456789abcdef0123"\n'
    )
    return path


def test_users_cli_add_passwd_disable_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("första lösenordet\n"))
    assert (
        main(
            [
                "users",
                "--config",
                str(config),
                "add",
                "anna",
                "--role",
                "nattpatrullen",
                "--name",
                "Anna N",
                "--password-stdin",
            ]
        )
        == 0
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("andra lösenordet\n"))
    assert main(["users", "--config", str(config), "passwd", "anna", "--password-stdin"]) == 0
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    accounts = Accounts(store)
    now = datetime.now(UTC)
    assert (
        accounts.sign_in("anna", "första lösenordet", now=now, lifetime=timedelta(hours=1)) is None
    )
    assert accounts.sign_in("anna", "andra lösenordet", now=now, lifetime=timedelta(hours=1))
    assert main(["users", "--config", str(config), "disable", "anna"]) == 0
    assert main(["users", "--config", str(config), "list"]) == 0
    assert "anna                     nattpatrullen    disabled" in capsys.readouterr().out
    store.close()


def test_users_cli_reports_bad_input_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("kort\n"))
    assert (
        main(
            ["users", "--config", str(config), "add", "anna", "--role", "jour", "--password-stdin"]
        )
        == 2
    )
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["users", "--config", str(config), "disable", "bertil"]) == 2
    assert "no account 'bertil'" in capsys.readouterr().err


def test_users_cli_is_installed_as_a_subcommand(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "driftvakt-central"), "users", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for action in ("add", "passwd", "disable", "list"):
        assert action in done.stdout
