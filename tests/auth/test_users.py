"""User accounts: argon2 passwords, roles linked to FHIR resources, throttling, lockout."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from isocenter.auth.users import SignInRefused, UserError, Users
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import user_account

PASSWORD = "correct horse battery"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def users(engine: Engine, slept: list[float]) -> Users:
    return Users(engine, sleep=slept.append)


def test_a_password_is_kept_only_as_an_argon2_hash(users: Users, engine: Engine) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")

    with engine.connect() as conn:
        stored = conn.scalar(select(user_account.c.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_right_password_signs_in(users: Users) -> None:
    users.add("dr", PASSWORD, "clinician", practitioner_id="pr1", display_name="Dr Who")

    user = users.authenticate("dr", PASSWORD)

    assert (user.username, user.role, user.display_name) == ("dr", "clinician", "Dr Who")
    assert user.fhir_user == "Practitioner/pr1"


def test_a_wrong_password_or_unknown_user_is_refused_with_the_same_words(
    users: Users, slept: list[float]
) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")

    with pytest.raises(SignInRefused) as wrong:
        users.authenticate("pat", "wrong password")
    with pytest.raises(SignInRefused) as unknown:
        users.authenticate("nobody", PASSWORD)

    assert str(wrong.value) == str(unknown.value)
    assert len(slept) == 2 and all(seconds > 0 for seconds in slept)


def test_each_failure_waits_longer(users: Users, slept: list[float]) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")

    for _ in range(3):
        with pytest.raises(SignInRefused):
            users.authenticate("pat", "wrong password")

    assert slept == sorted(slept) and slept[0] < slept[-1]


def test_five_failures_lock_the_account_even_for_the_right_password(
    users: Users, engine: Engine
) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")
    for _ in range(5):
        with pytest.raises(SignInRefused):
            users.authenticate("pat", "wrong password")

    with pytest.raises(SignInRefused, match="locked") as caught:
        users.authenticate("pat", PASSWORD)

    assert caught.value.locked_until is not None
    assert caught.value.locked_until > now_microseconds() + 14 * 60 * 1_000_000


def test_the_lock_ends_after_its_time(users: Users, engine: Engine) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")
    for _ in range(5):
        with pytest.raises(SignInRefused):
            users.authenticate("pat", "wrong password")
    with engine.begin() as conn:
        conn.execute(update(user_account).values(locked_until=now_microseconds() - 1))

    assert users.authenticate("pat", PASSWORD).username == "pat"


def test_a_success_resets_the_failure_count(users: Users, engine: Engine) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")
    for _ in range(4):
        with pytest.raises(SignInRefused):
            users.authenticate("pat", "wrong password")

    users.authenticate("pat", PASSWORD)

    with engine.connect() as conn:
        assert conn.scalar(select(user_account.c.failed_attempts)) == 0


def test_a_disabled_user_cannot_sign_in(users: Users) -> None:
    users.add("pat", PASSWORD, "patient", patient_id="p1")

    users.disable("pat")

    with pytest.raises(SignInRefused, match="disabled"):
        users.authenticate("pat", PASSWORD)
    assert users.get("pat").enabled is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("role", "links"),
    [
        ("patient", {}),
        ("patient", {"practitioner_id": "pr1"}),
        ("clinician", {}),
        ("clinician", {"patient_id": "p1"}),
        ("admin", {"patient_id": "p1"}),
        ("nurse", {}),
    ],
)
def test_roles_are_linked_to_the_right_resource(
    users: Users, role: str, links: dict[str, str]
) -> None:
    with pytest.raises(UserError):
        users.add("someone", PASSWORD, role, **links)


def test_short_passwords_and_duplicate_usernames_are_refused(users: Users) -> None:
    with pytest.raises(UserError):
        users.add("admin", "short", "admin")
    users.add("admin", PASSWORD, "admin")
    with pytest.raises(UserError):
        users.add("admin", PASSWORD, "admin")


def test_list_by_role_and_set_password(users: Users) -> None:
    users.add("b-admin", PASSWORD, "admin")
    users.add("a-pat", PASSWORD, "patient", patient_id="p1")

    assert [u.username for u in users.list()] == ["a-pat", "b-admin"]
    assert [u.username for u in users.list("admin")] == ["b-admin"]
    users.set_password("a-pat", "another long password")
    assert users.authenticate("a-pat", "another long password").fhir_user == "Patient/p1"
