"""``driftvakt-central policy check [FILE]``: validate a policy and print its
weekly coverage, gaps and overlaps (docs/policy.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from central.errors import PolicyError
from central.policy import load_policy
from central.policy.check import check_policy, render

EXIT_INVALID = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("policy", help="work with the routine policy")
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="validate a policy; print weekly coverage, uncovered and overlapping windows",
    )
    check.add_argument(
        "file", nargs="?", help="policy TOML file (default: the shipped Botkyrka policy)"
    )
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 for a valid policy (gaps are reported, owned by the fallback role),
    2 for an invalid one, with every problem's key, value and fix on stderr."""
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"invalid policy: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(render(check_policy(policy)))
    return 0
