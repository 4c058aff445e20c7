"""People who sign in: site admins, clinicians (a Practitioner) and patients (a Patient).

Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended
option). Guessing is slowed down: each failed sign-in waits a little longer, and after
``max_failures`` failures in a row the account refuses every sign-in, right or wrong, for
``lockout_seconds`` (NIST SP 800-63B §5.2.2, rate limiting).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import user_account

ROLES = ("patient", "clinician", "admin")
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class UserError(ValueError):
    """An account that cannot be created or changed as asked."""


class SignInRefused(Exception):
    """Sign-in failed. The message is safe to show: it never says which part was wrong."""

    def __init__(self, message: str, *, locked_until: int | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True)
class User:
    username: str
    role: str
    patient_id: str | None
    practitioner_id: str | None
    display_name: str | None
    enabled: bool
    created_at: int

    @property
    def fhir_user(self) -> str | None:
        """The user's own FHIR resource, "Patient/123" or "Practitioner/9"."""
        if self.patient_id:
            return f"Patient/{self.patient_id}"
        if self.practitioner_id:
            return f"Practitioner/{self.practitioner_id}"
        return None


class Users:
    """User accounts over one engine. ``authenticate`` blocks: call it from a thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_failures: int = 5,
        lockout_seconds: int = 15 * 60,
        failure_delay_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.failure_delay_seconds = failure_delay_seconds
        self._sleep = sleep

    def add(
        self,
        username: str,
        password: str,
        role: str,
        *,
        patient_id: str | None = None,
        practitioner_id: str | None = None,
        display_name: str | None = None,
    ) -> User:
        _check_new(username, password, role, patient_id, practitioner_id)
        if self.get(username) is not None:
            raise UserError(f"user {username!r} exists already")
        user = User(
            username=username,
            role=role,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            display_name=display_name,
            enabled=True,
            created_at=now_microseconds(),
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(user_account).values(
                    **user.__dict__,
                    password_hash=_hasher.hash(password),
                    failed_attempts=0,
                    locked_until=None,
                )
            )
        return user

    def get(self, username: str) -> User | None:
        row = self._row(username)
        return _user(row) if row is not None else None

    def list(self, role: str | None = None) -> list[User]:
        query = select(user_account).order_by(user_account.c.username)
        if role is not None:
            query = query.where(user_account.c.role == role)
        with reading(self.engine) as conn:
            return [_user(row) for row in conn.execute(query)]

    def disable(self, username: str) -> None:
        self._set(username, enabled=False)

    def enable(self, username: str) -> None:
        self._set(username, enabled=True, failed_attempts=0, locked_until=None)

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        self._set(username, password_hash=_hasher.hash(password))

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is; raises ``SignInRefused`` otherwise."""
        row = self._row(username)
        now = now_microseconds()
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise SignInRefused(_LOCKED, locked_until=row.locked_until)
        if not _verify(row.password_hash if row is not None else _DUMMY_HASH, password):
            attempts = self._note_failure(row, now) if row is not None else 1
            self._sleep(min(self.failure_delay_seconds * attempts, 2.0))
            raise SignInRefused(_WRONG)
        assert row is not None
        if not row.enabled:
            raise SignInRefused("This account is disabled.")
        if row.failed_attempts or row.locked_until:
            self._set(username, failed_attempts=0, locked_until=None)
        if _hasher.check_needs_rehash(row.password_hash):
            self._set(username, password_hash=_hasher.hash(password))
        return _user(row)

    def _note_failure(self, row: Any, now: int) -> int:
        where = user_account.c.username == row.username
        with self.engine.begin() as conn:
            # Counted in the database, so parallel guesses from many processes add up.
            attempts: int = conn.execute(
                update(user_account)
                .where(where)
                .values(failed_attempts=user_account.c.failed_attempts + 1)
                .returning(user_account.c.failed_attempts)
            ).scalar_one()
            if attempts >= self.max_failures:
                locked_until = now + self.lockout_seconds * 1_000_000
                conn.execute(
                    update(user_account)
                    .where(where)
                    .values(failed_attempts=0, locked_until=locked_until)
                )
        return attempts

    def _row(self, username: str) -> Any:
        with reading(self.engine) as conn:
            return conn.execute(
                select(user_account).where(user_account.c.username == username)
            ).first()

    def _set(self, username: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(user_account).where(user_account.c.username == username).values(**values)
            )
        if result.rowcount == 0:
            raise KeyError(username)


_WRONG = "The username or password is not right."
_LOCKED = "Too many failed sign-ins: this account is locked for a while. Try again later."


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_new(
    username: str,
    password: str,
    role: str,
    patient_id: str | None,
    practitioner_id: str | None,
) -> None:
    if not username or username != username.strip() or len(username) > 128:
        raise UserError("a username is 1 to 128 characters without surrounding spaces")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if role == "patient" and (not patient_id or practitioner_id):
        raise UserError("a patient user is linked to a Patient (and only to it)")
    if role == "clinician" and (not practitioner_id or patient_id):
        raise UserError("a clinician user is linked to a Practitioner (and only to it)")
    if role == "admin" and (patient_id or practitioner_id):
        raise UserError("a site admin is not linked to a Patient or Practitioner")


def _user(row: Any) -> User:
    return User(
        username=row.username,
        role=row.role,
        patient_id=row.patient_id,
        practitioner_id=row.practitioner_id,
        display_name=row.display_name,
        enabled=row.enabled,
        created_at=row.created_at,
    )
