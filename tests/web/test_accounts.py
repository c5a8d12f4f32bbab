from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from central.store import AuditEntry, Store
from central.web.accounts import Accounts, WebSession
from central.web.errors import AccountError, UnknownAccount

T0 = datetime(2027, 3, 9, 2, 0, tzinfo=UTC)
DAY = timedelta(hours=12)


@pytest.fixture
def accounts(store: Store) -> Accounts:
    """On SQLite and on PostgreSQL (the ``store`` fixture of the central tests)."""
    return Accounts(store, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def test_accounts_sign_in_checks_the_argon2_hash(accounts: Accounts, store: Store) -> None:
    accounts.add("anna", "nattpatrullen", "rätt lösenord", now=T0, by="cli:root")
    assert accounts.sign_in("anna", "fel lösenord!", now=T0, lifetime=DAY) is None
    session_id = accounts.sign_in("anna", "rätt lösenord", now=T0, lifetime=DAY)
    assert session_id is not None
    principal = accounts.resolve(session_id, now=T0)
    assert principal is not None and principal.role == "nattpatrullen"
    with store.session() as session:
        stored = session.scalars(select(WebSession)).one()
        assert stored.key != session_id  # only the hash of the id is stored
        hashed = session.execute(select(WebSession.csrf)).scalar_one()
        assert len(hashed) > 20


def test_accounts_session_expires(accounts: Accounts) -> None:
    accounts.add("anna", "nattpatrullen", "rätt lösenord", now=T0, by="cli:root")
    session_id = accounts.sign_in("anna", "rätt lösenord", now=T0, lifetime=DAY)
    assert session_id is not None
    assert accounts.resolve(session_id, now=T0 + DAY) is None


def test_accounts_password_change_and_disable_end_sessions(accounts: Accounts) -> None:
    accounts.add("anna", "larmgruppen", "rätt lösenord", now=T0, by="cli:root")
    first = accounts.sign_in("anna", "rätt lösenord", now=T0, lifetime=DAY)
    assert first is not None
    accounts.set_password("anna", "nytt lösenord", now=T0, by="cli:root")
    assert accounts.resolve(first, now=T0) is None
    assert accounts.sign_in("anna", "rätt lösenord", now=T0, lifetime=DAY) is None
    second = accounts.sign_in("anna", "nytt lösenord", now=T0, lifetime=DAY)
    assert second is not None
    accounts.disable("anna", now=T0, by="cli:root")
    assert accounts.resolve(second, now=T0) is None
    assert accounts.sign_in("anna", "nytt lösenord", now=T0, lifetime=DAY) is None


def test_accounts_refuse_bad_input(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="role 'chef' is unknown"):
        accounts.add("anna", "chef", "rätt lösenord", now=T0, by="cli:root")
    with pytest.raises(AccountError, match="at least 10"):
        accounts.add("anna", "jour", "kort", now=T0, by="cli:root")
    with pytest.raises(AccountError, match="user name 'Anna B'"):
        accounts.add("Anna B", "jour", "rätt lösenord", now=T0, by="cli:root")
    accounts.add("anna", "jour", "rätt lösenord", now=T0, by="cli:root")
    with pytest.raises(AccountError, match="taken"):
        accounts.add("anna", "jour", "rätt lösenord", now=T0, by="cli:root")
    with pytest.raises(UnknownAccount):
        accounts.disable("bertil", now=T0, by="cli:root")


def test_accounts_changes_are_audited_with_who(accounts: Accounts, store: Store) -> None:
    accounts.add("anna", "jour", "rätt lösenord", now=T0, by="cli:root")
    accounts.sign_in("anna", "rätt lösenord", now=T0, lifetime=DAY)
    accounts.disable("anna", now=T0, by="cli:root")
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        got = [(r.kind, r.actor, r.detail["action"]) for r in rows]
    assert got == [
        ("human", "cli:root", "account_added"),
        ("human", "anna", "signed_in"),
        ("human", "cli:root", "account_disabled"),
    ]
