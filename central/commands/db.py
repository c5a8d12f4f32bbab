"""``driftvakt-central db upgrade --config FILE``: migrate the database schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from central.config import load_config
from central.errors import ConfigError, StoreError
from central.store import Store


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="database maintenance")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="bring the schema to the newest migration")
    upgrade.add_argument("--config", required=True, type=Path, help="central TOML config")
    upgrade.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    try:
        store = Store(load_config(args.config).database.url)
        store.upgrade()
    except (ConfigError, StoreError) as exc:
        print(f"driftvakt-central: {exc}", file=sys.stderr)
        return 2
    store.close()
    print("database schema is up to date")
    return 0
