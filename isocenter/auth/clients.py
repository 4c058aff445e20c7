"""Registered apps (OAuth clients) and how they authenticate at the token endpoint.

Client types follow SMART App Launch 2.x "client-public", "client-confidential-symmetric"
and "client-confidential-asymmetric". Secrets are generated here, shown once and kept as
argon2 hashes; client authentication is RFC 6749 §2.3.1 (``client_secret_basic`` and
``client_secret_post``). ``private_key_jwt`` (RFC 7523) plugs in as an assertion verifier.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update

from isocenter.auth.database import reading
from isocenter.auth.errors import InvalidClient, InvalidRequest
from isocenter.auth.scopes import ScopeError, parse_scope
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import app as app_table

CLIENT_TYPES = ("public", "confidential-symmetric", "confidential-asymmetric")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

_hasher = PasswordHasher()
# Verified against when the client is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_client_id() -> str:
    """A random client id (144 bits) that never starts with '-', which a command line
    would read as an option (`isocenter apps rotate-secret -6f...`)."""
    while True:
        client_id = secrets.token_urlsafe(18)
        if not client_id.startswith("-"):
            return client_id


class AppRegistrationError(ValueError):
    """A registration that Isocenter refuses (message says which field and why)."""


@dataclass(frozen=True)
class App:
    client_id: str
    name: str
    client_type: str
    redirect_uris: tuple[str, ...]
    scopes: str
    logo_url: str | None = None
    launch_url: str | None = None
    logout_url: str | None = None
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    enabled: bool = True
    created_at: int = 0
    updated_at: int = 0
    secret_hash: str | None = None

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


# Checks a client assertion (RFC 7523 §2.2) for an app; raises InvalidClient.
AssertionVerifier = Callable[[App, str], None]

_EDITABLE = {
    "name",
    "logo_url",
    "launch_url",
    "redirect_uris",
    "logout_url",
    "scopes",
    "jwks_url",
    "jwks",
}


class Apps:
    """The app registry over one engine."""

    def __init__(
        self, engine: Engine, *, assertion_verifier: AssertionVerifier | None = None
    ) -> None:
        self.engine = engine
        self.assertion_verifier = assertion_verifier

    def register(
        self,
        *,
        name: str,
        client_type: str,
        redirect_uris: Sequence[str],
        scopes: str,
        logo_url: str | None = None,
        launch_url: str | None = None,
        logout_url: str | None = None,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
    ) -> tuple[App, str | None]:
        """Register an app; returns it and, for a confidential-symmetric app, its secret.

        The secret is returned this once; only its hash is kept.
        """
        now = now_microseconds()
        secret = secrets.token_urlsafe(32) if client_type == "confidential-symmetric" else None
        app = App(
            client_id=new_client_id(),
            name=name.strip(),
            client_type=client_type,
            redirect_uris=tuple(redirect_uris),
            scopes=" ".join(scopes.split()),
            logo_url=logo_url or None,
            launch_url=launch_url or None,
            logout_url=logout_url or None,
            jwks_url=jwks_url or None,
            jwks=jwks,
            created_at=now,
            updated_at=now,
            secret_hash=_hasher.hash(secret) if secret else None,
        )
        _check(app)
        with self.engine.begin() as conn:
            conn.execute(insert(app_table).values(**_row(app)))
        return app, secret

    def get(self, client_id: str) -> App | None:
        with reading(self.engine) as conn:
            row = conn.execute(
                select(app_table).where(app_table.c.client_id == client_id)
            ).first()
        return _from_row(row) if row is not None else None

    def list(self) -> list[App]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(app_table).order_by(app_table.c.created_at)).all()
        return [_from_row(row) for row in rows]

    def update(self, client_id: str, **changes: Any) -> App:
        """Change registration fields (not the client id, type or secret)."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise AppRegistrationError(f"fields that cannot be changed: {sorted(unknown)}")
        current = self._existing(client_id)
        if "redirect_uris" in changes:
            changes["redirect_uris"] = tuple(changes["redirect_uris"])
        if "scopes" in changes:
            changes["scopes"] = " ".join(changes["scopes"].split())
        values = {f.name: getattr(current, f.name) for f in fields(App)}
        changed = App(**{**values, **changes, "updated_at": now_microseconds()})
        _check(changed)
        self._write(client_id, _row(changed))
        return changed

    def disable(self, client_id: str) -> None:
        """Refuse the app from now on (its issued tokens are revoked separately)."""
        self._existing(client_id)
        self._write(client_id, {"enabled": False, "updated_at": now_microseconds()})

    def enable(self, client_id: str) -> None:
        self._existing(client_id)
        self._write(client_id, {"enabled": True, "updated_at": now_microseconds()})

    def delete(self, client_id: str) -> None:
        self._existing(client_id)
        with self.engine.begin() as conn:
            conn.execute(delete(app_table).where(app_table.c.client_id == client_id))

    def rotate_secret(self, client_id: str) -> str:
        """A new secret for a confidential-symmetric app; the old one stops working."""
        app = self._existing(client_id)
        if app.client_type != "confidential-symmetric":
            raise AppRegistrationError(f"a {app.client_type} app has no client secret")
        secret = secrets.token_urlsafe(32)
        values = {"secret_hash": _hasher.hash(secret), "updated_at": now_microseconds()}
        self._write(client_id, values)
        return secret

    def authenticate(self, form: Mapping[str, str], authorization: str | None) -> App:
        """The app making a token, introspection or revocation request (RFC 6749 §2.3).

        Raises ``InvalidClient`` (401; with a Basic challenge when Basic was used) for an
        unknown, disabled or wrongly authenticated app, ``InvalidRequest`` for a request
        that uses more than one method.
        """
        if authorization and authorization[:6].lower() == "basic ":
            return self._basic(form, authorization[6:])
        if form.get("client_assertion") or form.get("client_assertion_type"):
            return self._assertion(form)
        client_id = form.get("client_id") or ""
        if "client_secret" in form:
            return self._secret(client_id, form["client_secret"], basic=False)
        app = self._enabled(client_id, basic=False)
        if not app.is_public:
            raise InvalidClient(f"a {app.client_type} app must authenticate")
        return app

    def _basic(self, form: Mapping[str, str], credentials: str) -> App:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("malformed Basic credentials", basic=True) from None
        raw_id, separator, raw_secret = decoded.partition(":")
        if not separator:
            raise InvalidClient("malformed Basic credentials", basic=True)
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if "client_secret" in form or "client_assertion" in form:
            raise InvalidRequest("use one client authentication method, not several")
        if form.get("client_id") not in (None, "", client_id):
            raise InvalidRequest("client_id differs from the Basic credentials")
        return self._secret(client_id, secret, basic=True)

    def _secret(self, client_id: str, secret: str, *, basic: bool) -> App:
        app = self.get(client_id) if client_id else None
        stored = app.secret_hash if app is not None else None
        if not _verify(stored or _DUMMY_HASH, secret) or app is None or stored is None:
            raise InvalidClient("client authentication failed", basic=basic)
        if not app.enabled:
            raise InvalidClient("this app is disabled", basic=basic)
        if app.client_type != "confidential-symmetric":
            raise InvalidClient("client authentication failed", basic=basic)
        return app

    def _assertion(self, form: Mapping[str, str]) -> App:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidClient(f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion") or ""
        if self.assertion_verifier is None:
            raise InvalidClient("private_key_jwt client authentication is not supported yet")
        app = self._enabled(form.get("client_id") or _assertion_subject(assertion), basic=False)
        if app.client_type != "confidential-asymmetric":
            raise InvalidClient("client authentication failed")
        self.assertion_verifier(app, assertion)
        return app

    def _enabled(self, client_id: str, *, basic: bool) -> App:
        app = self.get(client_id) if client_id else None
        if app is None:
            raise InvalidClient("unknown client", basic=basic)
        if not app.enabled:
            raise InvalidClient("this app is disabled", basic=basic)
        return app

    def _existing(self, client_id: str) -> App:
        app = self.get(client_id)
        if app is None:
            raise KeyError(client_id)
        return app

    def _write(self, client_id: str, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(app_table).where(app_table.c.client_id == client_id).values(**values)
            )


def _verify(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def _assertion_subject(assertion: str) -> str:
    """The ``sub`` of an unverified client assertion: which app's keys to check it with."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise InvalidClient("malformed client assertion") from None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str):
        raise InvalidClient("client assertion without sub")
    return subject


def _check(app: App) -> None:
    if not app.name:
        raise AppRegistrationError("name is required")
    if app.client_type not in CLIENT_TYPES:
        raise AppRegistrationError(f"client type must be one of {', '.join(CLIENT_TYPES)}")
    # A backend service (SMART Backend Services) never redirects a browser.
    if not app.redirect_uris and app.client_type != "confidential-asymmetric":
        raise AppRegistrationError("at least one redirect URI is required")
    for uri in app.redirect_uris:
        _check_redirect_uri(uri)
    for label, url in (("logo", app.logo_url), ("launch", app.launch_url)):
        if url is not None:
            _check_url(label, url)
    if app.logout_url is not None:
        _check_url("sign-off", app.logout_url)
    try:
        parse_scope(app.scopes)
    except ScopeError as exc:
        raise AppRegistrationError(str(exc)) from exc
    _check_keys(app)


def _check_keys(app: App) -> None:
    if app.client_type != "confidential-asymmetric":
        if app.jwks_url or app.jwks:
            raise AppRegistrationError("only a confidential-asymmetric app has a JWK Set")
        return
    if bool(app.jwks_url) == bool(app.jwks):
        raise AppRegistrationError("give the JWK Set either by URL or pasted in, not both")
    if app.jwks_url:
        _check_url("JWK Set", app.jwks_url)
        if not app.jwks_url.startswith("https://") and not _is_loopback(app.jwks_url):
            raise AppRegistrationError("a JWK Set URL must use https")
    elif not isinstance(app.jwks, dict) or not isinstance(app.jwks.get("keys"), list):
        raise AppRegistrationError('a JWK Set is a JSON object with a "keys" list')


def _check_redirect_uri(uri: str) -> None:
    """RFC 6749 §3.1.2: an absolute URI without a fragment.

    https, or http on a loopback host, or a native app's private-use scheme in reverse
    domain form such as ``com.example.app:/callback`` (RFC 8252 §7.1).
    """
    if "#" in uri:
        raise AppRegistrationError(f"a redirect URI has no fragment: {uri!r}")
    scheme = urlsplit(uri).scheme
    if "." in scheme and uri.startswith(scheme + ":/"):
        return
    _check_url("redirect", uri)
    if not uri.startswith("https://") and not _is_loopback(uri):
        raise AppRegistrationError(
            f"a redirect URI must use https (or a loopback host): {uri!r}"
        )


def _check_url(label: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AppRegistrationError(f"the {label} URL must be an absolute http(s) URL: {url!r}")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


def _row(app: App) -> dict[str, Any]:
    row = {f.name: getattr(app, f.name) for f in fields(App)}
    row["redirect_uris"] = json.dumps(list(app.redirect_uris))
    row["jwks"] = json.dumps(app.jwks) if app.jwks is not None else None
    return row


def _from_row(row: Any) -> App:
    values = dict(row._mapping)
    values["redirect_uris"] = tuple(json.loads(values["redirect_uris"]))
    values["jwks"] = json.loads(values["jwks"]) if values["jwks"] else None
    return App(**values)
