"""Local staff accounts and their sign-in sessions, in the central store.

Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes),
rehashed on sign-in when the parameters change. A session is a random id whose
SHA-256 is the row's key, so a copy of the database gives no live session.
Changing a password or disabling an account ends every session of it. Every
change is written to the audit log with who did it (``kind="human"``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from central.store import audit
from central.store.db import Store
from central.store.models import Base
from central.web.errors import AccountError, UnknownAccount
from central.web.roles import ROLES

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class Account(Base):
    """One person (or one shared duty phone) who signs in to the dashboard."""

    __tablename__ = "accounts"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]
    generation: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped by a password change or disabling: older sessions stop working."""


class WebSession(Base):
    """A signed-in browser or API client; the key is the SHA-256 of the cookie's id."""

    __tablename__ = "web_sessions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("accounts.username"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person as the routes see them."""

    username: str
    role: str
    display_name: str
    csrf: str
    session_key: str


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _audit(session: Session, now: datetime, actor: str, action: str, **detail: object) -> None:
    audit.record(
        session, at=now, tenant="", kind="human", actor=actor, detail={"action": action, **detail}
    )


class Accounts:
    """Account and session operations over the store.

    :param Store store: the central store (tables from the migrations).
    :param PasswordHasher hasher: argon2 parameters; tests pass cheaper ones.
    :param reads: read-only sessions for :meth:`resolve`, which runs on every
        request (default: the store's own).
    """

    def __init__(
        self,
        store: Store,
        hasher: PasswordHasher | None = None,
        reads: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._store = store
        self._reads = reads or store.session
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def add(
        self,
        username: str,
        role: str,
        password: str,
        *,
        now: datetime,
        by: str,
        display_name: str = "",
    ) -> None:
        """Create an account.

        :raises AccountError: bad user name, unknown role, short password or a taken name.
        """
        if not _USERNAME_RE.match(username):
            raise AccountError(
                f"user name {username!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'"
            )
        _check_role(role)
        _check_password(password)
        with self._store.session() as session:
            if session.get(Account, username) is not None:
                raise AccountError(f"user name {username!r} is taken; pick another")
            session.add(
                Account(
                    username=username,
                    role=role,
                    display_name=display_name,
                    password_hash=self._hasher.hash(password),
                    active=True,
                    created_at=now,
                    changed_at=now,
                    generation=0,
                )
            )
            _audit(session, now, by, "account_added", username=username, role=role)

    def set_password(self, username: str, password: str, *, now: datetime, by: str) -> None:
        """Replace the password and end the account's sessions (it is also enabled again)."""
        _check_password(password)
        with self._store.session() as session:
            account = _get(session, username)
            account.password_hash = self._hasher.hash(password)
            account.active = True
            self._bump(session, account, now)
            _audit(session, now, by, "password_changed", username=username)

    def disable(self, username: str, *, now: datetime, by: str) -> None:
        """Stop the account from signing in and end its sessions."""
        with self._store.session() as session:
            account = _get(session, username)
            account.active = False
            self._bump(session, account, now)
            _audit(session, now, by, "account_disabled", username=username)

    def listing(self) -> list[tuple[str, str, bool]]:
        """Every account as (user name, role, active)."""
        with self._store.session() as session:
            rows = session.scalars(select(Account).order_by(Account.username))
            return [(a.username, a.role, a.active) for a in rows]

    def sign_in(
        self, username: str, password: str, *, now: datetime, lifetime: timedelta
    ) -> str | None:
        """Check the password and open a session; ``None`` when it is wrong.

        Unknown and disabled accounts cost one hash too, so timing does not
        tell which user names exist. Returns the session id for the cookie.
        """
        with self._store.session() as session:
            account = session.get(Account, username)
            if account is None or not account.active:
                self._verify(self._dummy, password)
                return None
            if not self._verify(account.password_hash, password):
                return None
            if self._hasher.check_needs_rehash(account.password_hash):
                account.password_hash = self._hasher.hash(password)
            session.execute(delete(WebSession).where(WebSession.expires_at <= now))
            session_id = secrets.token_urlsafe(32)
            session.add(
                WebSession(
                    key=_key(session_id),
                    username=username,
                    generation=account.generation,
                    csrf=secrets.token_urlsafe(32),
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
            _audit(session, now, username, "signed_in")
            return session_id

    def resolve(self, session_id: str, *, now: datetime) -> Principal | None:
        """The person behind a session id, or ``None`` if it is unknown, expired or stale."""
        with self._reads() as session:
            row = session.get(WebSession, _key(session_id))
            if row is None or row.expires_at <= now:
                return None
            account = session.get(Account, row.username)
            if account is None or not account.active or account.generation != row.generation:
                return None
            return Principal(
                account.username,
                account.role,
                account.display_name or account.username,
                row.csrf,
                row.key,
            )

    def sign_out(self, principal: Principal, *, now: datetime) -> None:
        """End one session."""
        with self._store.session() as session:
            session.execute(delete(WebSession).where(WebSession.key == principal.session_key))
            _audit(session, now, principal.username, "signed_out")

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _bump(session: Session, account: Account, now: datetime) -> None:
        account.generation += 1
        account.changed_at = now
        session.execute(delete(WebSession).where(WebSession.username == account.username))


def _get(session: Session, username: str) -> Account:
    account = session.get(Account, username)
    if account is None:
        raise UnknownAccount(f"no account {username!r}; list them with `users list`")
    return account


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; use one of: {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
