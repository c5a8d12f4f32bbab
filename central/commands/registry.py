"""``driftvakt-central registry import FILE.csv`` and ``registry export``:
the homes of a tenant in the database (docs/registry.md for the CSV).

An import with any bad row changes nothing and lists every problem with its
line and the fix. The running service reads the registry at start: restart it
after an import.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from central.config import CentralConfig, load_config
from central.errors import ConfigError, Problem, StoreError
from central.registry import COLUMNS, read_registry_csv
from central.store import Store
from central.store import registry as registry_rows


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("registry", help="import or export the registry of homes")
    actions = parser.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    for name, func, text in (
        ("import", run_import, "replace a tenant's registry with a CSV file"),
        ("export", run_export, "print a tenant's registry as CSV"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--config", required=True, type=Path, help="central TOML config")
        action.add_argument("--tenant", help="tenant (default: the config's only tenant)")
        if name == "import":
            action.add_argument("file", type=Path, help="registry CSV")
        action.set_defaults(func=func)


def _open(args: argparse.Namespace) -> tuple[CentralConfig, Store, str]:
    config = load_config(args.config)
    tenant = args.tenant or (config.tenants[0] if len(config.tenants) == 1 else "")
    if tenant not in config.tenants:
        fix = "--tenant " + " or --tenant ".join(config.tenants)
        problem = Problem("--tenant", tenant or "(none)", "not one of the config's tenants", fix)
        raise ConfigError(str(args.config), [problem])
    store = Store(config.database.url)
    store.upgrade()
    return config, store, tenant


def run_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"registry: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    result = read_registry_csv(text)
    if not result.ok:
        for problem in result.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"registry: {len(result.problems)} problem(s); nothing imported", file=sys.stderr)
        return 2
    try:
        _, store, tenant = _open(args)
        with store.session() as session:
            registry_rows.replace(session, tenant, result.homes)
    except (ConfigError, StoreError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    print(f"imported {len(result.homes)} homes for {tenant}; restart the service to use them")
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        _, store, tenant = _open(args)
        with store.session() as session:
            homes = list(registry_rows.load(session, tenant))
    except (ConfigError, StoreError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    for home in homes:
        row = registry_rows.to_row(tenant, home)
        writer.writerow(
            [
                row.gateway,
                row.homecare_group,
                " ".join(row.night_checks),
                "yes" if row.active else "no",
                row.label or "",
                row.camera_serial or "",
                row.router_serial or "",
                "yes" if row.relay else "no",
                "" if row.visit_plan is None else " ".join(row.visit_plan),
                row.camera_mac or "",
                row.router_mac or "",
            ]
        )
    return 0
