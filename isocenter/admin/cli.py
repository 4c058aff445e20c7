"""``isocenter apps`` and ``isocenter users``: registering apps and users from a shell.

The same model as the admin pages and API (``Apps``, ``Users`` and the checks of
``admin.fields``). Exit codes: 0 done; 1 the app or user named does not exist, or the
username is taken; 2 bad input (an unusable flag value, a redirect URI that is neither https
nor loopback http, an empty password).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from sqlalchemy import Engine, select

from isocenter.admin.documents import app_document, user_document, with_secret
from isocenter.admin.fields import CLIENT_TYPES, InvalidField, app_fields
from isocenter.auth.clients import AppRegistrationError, Apps
from isocenter.auth.revocation import RevocationList
from isocenter.auth.users import MIN_PASSWORD_LENGTH, ROLES, UserError, Users
from isocenter.config import load_settings
from isocenter.store.engine import make_engine, migrate
from isocenter.store.schema import resource

Command = TypeVar("Command", bound=Callable[..., Any])
SECRET_NOTE = "The client secret is shown only this once; Isocenter keeps only its hash."


def database_option(command: Command) -> Command:
    option = click.option(
        "--database-url", envvar="ISOCENTER_DATABASE_URL", help="SQLAlchemy URL."
    )
    return option(command)


def json_option(command: Command) -> Command:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


def open_engine(database_url: str | None) -> Engine:
    """The database of the settings (migrated, so a fresh one works too)."""
    settings = load_settings().with_overrides(database_url=database_url)
    engine = make_engine(settings.resolved_database_url())
    # Closed with the command: pooled connections left to the garbage collector stay open.
    click.get_current_context().call_on_close(engine.dispose)
    migrate(engine)
    return engine


def emit(document: Any) -> None:
    click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@click.group()
def apps() -> None:
    """Register apps and manage their secrets."""


@apps.command("add")
@click.option("--name", required=True, help="The app's name, shown to users.")
@click.option("--client-type", required=True, type=click.Choice(CLIENT_TYPES))
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeat for several.")
@click.option("--launch-url", help="Where the EHR opens the app (EHR launch).")
@click.option("--logout-url", help="The app's sign-off URL.")
@click.option("--logo-url", help="The app's logo, shown on the consent page.")
@click.option("--scopes", help='What it may ask for, e.g. "launch openid patient/*.rs".')
@click.option("--jwks-url", help="JWK Set URL (confidential-asymmetric).")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@database_option
def apps_add(
    jwks_file: Path | None, as_json: bool, database_url: str | None, **given: Any
) -> None:
    """Register an app; prints its client id and, once, its secret."""
    if jwks_file is not None and given["jwks_url"]:
        raise click.UsageError("give --jwks-url or --jwks-file, not both")
    given["redirect_uris"] = list(given["redirect_uris"])
    if jwks_file is not None:
        given["jwks"] = jwks_file.read_text()
    try:
        fields = app_fields(given)
        app, secret = Apps(open_engine(database_url)).register(**fields.registration())
    except (InvalidField, AppRegistrationError) as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        emit(with_secret(app_document(app), secret))
        return
    click.echo(f"Registered {app.name}")
    click.echo(f"client_id      {app.client_id}")
    if secret:
        click.echo(f"client_secret  {secret}")
        click.echo(SECRET_NOTE)


@apps.command("list")
@json_option
@database_option
def apps_list(as_json: bool, database_url: str | None) -> None:
    """Every registered app."""
    registered = Apps(open_engine(database_url)).list()
    if as_json:
        emit([app_document(app) for app in registered])
        return
    for app in registered:
        status = "enabled" if app.enabled else "disabled"
        click.echo(f"{app.client_id}  {app.client_type:<24} {status:<9} {app.name}")


@apps.command("show")
@click.argument("client_id")
@json_option
@database_option
def apps_show(client_id: str, as_json: bool, database_url: str | None) -> None:
    """One app's registration."""
    document = app_document(_app(Apps(open_engine(database_url)), client_id))
    if as_json:
        emit(document)
        return
    for key, value in document.items():
        shown = " ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:<14} {'' if shown is None else shown}")


@apps.command("disable")
@click.argument("client_id")
@database_option
def apps_disable(client_id: str, database_url: str | None) -> None:
    """Disable an app: it can no longer sign users in, and its grants are revoked."""
    engine = open_engine(database_url)
    registry = Apps(engine)
    _app(registry, client_id)
    registry.disable(client_id)
    revoked = RevocationList(engine).revoke_client(client_id)
    click.echo(f"Disabled {client_id}; revoked {revoked} live access tokens")


@apps.command("rotate-secret")
@click.argument("client_id")
@json_option
@database_option
def apps_rotate_secret(client_id: str, as_json: bool, database_url: str | None) -> None:
    """Issue a new client secret (shown once); the old one stops working."""
    registry = Apps(open_engine(database_url))
    app = _app(registry, client_id)
    if app.client_type != "confidential-symmetric":
        raise click.UsageError(f"{client_id} is a {app.client_type} client: it has no secret")
    secret = registry.rotate_secret(client_id)
    if as_json:
        emit({"client_id": client_id, "client_secret": secret})
        return
    click.echo(f"client_id      {client_id}")
    click.echo(f"client_secret  {secret}")
    click.echo(SECRET_NOTE)


def _app(registry: Apps, client_id: str) -> Any:
    app = registry.get(client_id)
    if app is None:
        raise click.ClickException(f"no app has the client id {client_id!r}")
    return app


@click.group()
def users() -> None:
    """Add and disable the people who sign in: patients, clinicians, site admins."""


@users.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--patient", "patient_id", help="The Patient id a patient user is.")
@click.option("--practitioner", "practitioner_id", help="The Practitioner id of a clinician.")
@click.option("--display-name", help="The name shown on pages (optional).")
@json_option
@database_option
def users_add(
    username: str,
    role: str,
    patient_id: str | None,
    practitioner_id: str | None,
    display_name: str | None,
    as_json: bool,
    database_url: str | None,
) -> None:
    """Add a user; the password is read from standard input."""
    _check_link(role, patient_id, practitioner_id)
    password = _read_password()
    engine = open_engine(database_url)
    _check_exists(engine, "Patient", patient_id)
    _check_exists(engine, "Practitioner", practitioner_id)
    people = Users(engine)
    if people.get(username) is not None:
        raise click.ClickException(f"the username {username!r} is taken")
    try:
        user = people.add(
            username,
            password,
            role,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            display_name=display_name,
        )
    except UserError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        emit(user_document(user))
        return
    click.echo(f"Added {role} {username}")


@users.command("list")
@json_option
@database_option
def users_list(as_json: bool, database_url: str | None) -> None:
    """Every user (never a password or its hash)."""
    everyone = Users(open_engine(database_url)).list()
    if as_json:
        emit([user_document(user) for user in everyone])
        return
    for user in everyone:
        link = user.patient_id or user.practitioner_id or ""
        status = "enabled" if user.enabled else "disabled"
        click.echo(f"{user.username:<32} {user.role:<10} {status:<9} {link}")


@users.command("disable")
@click.argument("username")
@database_option
def users_disable(username: str, database_url: str | None) -> None:
    """Disable a user: they can no longer sign in."""
    people = Users(open_engine(database_url))
    if people.get(username) is None:
        raise click.ClickException(f"no user is called {username!r}")
    people.disable(username)
    click.echo(f"Disabled {username}")


def _check_link(role: str, patient_id: str | None, practitioner_id: str | None) -> None:
    if patient_id and practitioner_id:
        raise click.UsageError("give --patient or --practitioner, not both")
    if role == "patient" and not patient_id:
        raise click.UsageError("a patient user needs --patient ID")
    if role == "clinician" and not practitioner_id:
        raise click.UsageError("a clinician needs --practitioner ID")
    if role == "admin" and (patient_id or practitioner_id):
        raise click.UsageError("a site admin is linked to no Patient or Practitioner")


def _read_password() -> str:
    stdin = click.get_text_stream("stdin")
    if stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(
            f"the password (read from standard input) needs {MIN_PASSWORD_LENGTH} characters"
        )
    return password


def _check_exists(engine: Engine, resource_type: str, id: str | None) -> None:
    if id is None:
        return
    statement = select(resource.c.id).where(
        resource.c.resource_type == resource_type,
        resource.c.id == id,
        resource.c.deleted.is_(False),
    )
    with engine.connect() as conn:
        if conn.execute(statement).first() is None:
            raise click.UsageError(f"there is no {resource_type}/{id} in the store")
