"""``driftvakt-central users add|passwd|disable|list``: the dashboard's accounts
(docs/web.md, "Accounts"). Passwords are read from the terminal without echo,
or from standard input with ``--password-stdin`` (one line, for scripts)."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.config import load_config
from central.errors import DriftvaktError
from central.store import Store
from central.web.accounts import Accounts
from central.web.roles import ROLE_NAMES, ROLES

EXIT_FAILED = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="manage the dashboard's staff accounts")
    parser.add_argument("--config", required=True, type=Path, help="central configuration file")
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES, help="the account's role")
    add.add_argument("--name", default="", help="name shown on screen")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=_run, action="add")
    passwd = actions.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=_run, action="passwd")
    disable = actions.add_parser("disable", help="stop an account from signing in")
    disable.add_argument("username")
    disable.set_defaults(func=_run, action="disable")
    listing = actions.add_parser("list", help="list accounts, roles and whether active")
    listing.set_defaults(func=_run, action="list")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise DriftvaktError("the passwords differ; nothing changed")
    return first


def _run(args: argparse.Namespace) -> int:
    try:
        store = Store(load_config(args.config).database.url)
        try:
            store.upgrade()
            _act(Accounts(store), args)
        finally:
            store.close()
    except DriftvaktError as exc:
        print(f"users {args.action}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _act(accounts: Accounts, args: argparse.Namespace) -> None:
    now, by = datetime.now(UTC), f"cli:{getpass.getuser()}"
    if args.action == "add":
        password = _password(args.password_stdin)
        accounts.add(args.username, args.role, password, now=now, by=by, display_name=args.name)
        print(f"added {args.username} ({ROLE_NAMES[args.role]})")
    elif args.action == "passwd":
        accounts.set_password(args.username, _password(args.password_stdin), now=now, by=by)
        print(f"password changed for {args.username}; its sessions have ended")
    elif args.action == "disable":
        accounts.disable(args.username, now=now, by=by)
        print(f"disabled {args.username}; its sessions have ended")
    else:
        for username, role, active in accounts.listing():
            print(f"{username:<24} {role:<16} {'active' if active else 'disabled'}")
