from pathlib import Path

import pytest

from central.cli import main
from central.store import Store
from central.store import registry as registry_rows
from tests.central.harness import to_toml

CSV = (
    "gateway,homecare_group,night_checks,active,label,camera_serial,router_serial,relay,visit_plan,"
    "camera_mac,router_mac\n"
    """gw-0001,tumba-norra,01:30 22:30,yes,Anna A,CAM1,RT1,yes,,00:1a:2b:3c:4d:5e,
gw-0002,tumba-syd,,no,,CAM2,RT2,no,23:00,,aa:bb:cc:dd:ee:ff
"""
)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "central.toml"
    db = f"sqlite:///{tmp_path / 'c.db'}"
    path.write_text(
        to_toml({"tenants": ["botkyrka"], "database": {"url": db}, "links": {"secret": "z" * 32}})
    )
    return path


def test_cli_registry_import_then_export_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    (tmp_path / "homes.csv").write_text(CSV)
    assert main(["registry", "import", "--config", str(config), str(tmp_path / "homes.csv")]) == 0
    assert "imported 2 homes for botkyrka" in capsys.readouterr().out
    assert main(["registry", "export", "--config", str(config)]) == 0
    assert capsys.readouterr().out == CSV


def test_cli_registry_bad_row_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    (tmp_path / "good.csv").write_text(CSV)
    main(["registry", "import", "--config", str(config), str(tmp_path / "good.csv")])
    bad = CSV + "GW BAD,tumba,25:00,yes,,,,,\n"
    (tmp_path / "bad.csv").write_text(bad)
    assert main(["registry", "import", "--config", str(config), str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 4" in err and "nothing imported" in err
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.session() as session:
        assert [h.gateway for h in registry_rows.load(session, "botkyrka")] == [
            "gw-0001",
            "gw-0002",
        ]
    store.close()


def test_cli_db_upgrade_and_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--config", str(_config(tmp_path))]) == 0
    assert "up to date" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('tenants = ["botkyrka"]\n[links]\nsecret = "short"\n')
    assert main(["run", "--config", str(bad)]) == 2
    assert "links: secret missing or short" in capsys.readouterr().err
