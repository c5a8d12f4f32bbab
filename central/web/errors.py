"""Errors of the dashboard and its accounts (one root: ``DriftvaktError``)."""

from __future__ import annotations

from central.errors import DriftvaktError


class AccountError(DriftvaktError, ValueError):
    """An account cannot be created or changed as asked (unknown role, weak password...)."""


class UnknownAccount(AccountError, LookupError):
    """No account has that user name."""
