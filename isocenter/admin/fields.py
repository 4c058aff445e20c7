"""The fields of an app registration, checked the same way for the pages, API and CLI.

What is refused and why:
- redirect URIs must be absolute, without a fragment (RFC 6749 §3.1.2), and either
  https or http on a loopback address for native apps (RFC 8252 §7.3; OAuth 2.0 Security
  BCP, RFC 9700 §2.1 forbids plain http elsewhere), or a native app's private-use scheme
  in reverse domain form (RFC 8252 §7.1); the launch, sign-off and logo URLs are https or
  loopback http;
- scopes must parse as SMART scopes (scopes-and-launch-context.html);
- a JWK Set (by URL or pasted) belongs to confidential-asymmetric clients only, which need
  exactly one (SMART "client-confidential-asymmetric"); a pasted set holds public keys only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from isocenter.auth.scopes import ScopeError, parse_scope

CLIENT_TYPES = ("public", "confidential-symmetric", "confidential-asymmetric")
ASYMMETRIC = "confidential-asymmetric"
# What an app may ask for when registered without a scope list: a patient-facing reader.
DEFAULT_SCOPES = (
    "openid fhirUser launch launch/patient offline_access online_access patient/*.rs"
)
LOOPBACK_NAMES = frozenset({"localhost"})
MAX_NAME_LENGTH = 200
# Members of a JWK that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidField(ValueError):
    """One field of a registration is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AppFields:
    """A checked registration: everything about an app except its id and secret."""

    name: str
    client_type: str
    redirect_uris: tuple[str, ...]
    scopes: str
    launch_url: str | None = None
    logout_url: str | None = None
    logo_url: str | None = None
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None

    def registration(self) -> dict[str, Any]:
        """Keyword arguments for ``Apps.register`` (and, less client_type, ``update``)."""
        return {
            "name": self.name,
            "client_type": self.client_type,
            "redirect_uris": list(self.redirect_uris),
            "scopes": self.scopes,
            "logo_url": self.logo_url,
            "launch_url": self.launch_url,
            "logout_url": self.logout_url,
            "jwks_url": self.jwks_url,
            "jwks": self.jwks,
        }


def app_fields(raw: Mapping[str, Any]) -> AppFields:
    """Check ``raw`` (names as in AppFields; redirect_uris a list) into ``AppFields``."""
    client_type = _text(raw, "client_type")
    if client_type not in CLIENT_TYPES:
        raise InvalidField("client_type", f"must be one of {', '.join(CLIENT_TYPES)}")
    jwks_url, jwks = _key_set(raw, client_type)
    return AppFields(
        name=_name(raw),
        client_type=client_type,
        redirect_uris=_redirect_uris(raw.get("redirect_uris"), client_type),
        scopes=_scopes(raw.get("scopes")),
        launch_url=_optional_url(raw, "launch_url"),
        logout_url=_optional_url(raw, "logout_url"),
        logo_url=_optional_url(raw, "logo_url"),
        jwks_url=jwks_url,
        jwks=jwks,
    )


def check_url(field: str, url: str) -> str:
    """``url`` if it is absolute https, or http on a loopback host; else InvalidField."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidField(field, f"{url!r} is not an absolute http(s) URL")
    if parts.fragment or url.endswith("#"):
        raise InvalidField(field, f"{url!r} must not have a fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidField(field, f"{url!r} must use https (http only on a loopback host)")
    return url


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_jwks(field: str, text: str) -> dict[str, Any]:
    """A pasted JWK Set (RFC 7517 §5): a JSON object with a list of public keys."""
    try:
        jwks = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidField(field, "is not JSON") from exc
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidField(field, 'must be a JWK Set: {"keys": [ ... ]} with at least one key')
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise InvalidField(field, "every key needs a kty")
        if PRIVATE_MEMBERS & key.keys():
            raise InvalidField(
                field, "holds a private or symmetric key; paste public keys only"
            )
    return dict(jwks)


def _text(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    return value.strip()


def _name(raw: Mapping[str, Any]) -> str:
    name = _text(raw, "name")
    if not name:
        raise InvalidField("name", "is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidField("name", f"is longer than {MAX_NAME_LENGTH} characters")
    return name


def _optional_url(raw: Mapping[str, Any], field: str) -> str | None:
    url = _text(raw, field)
    return check_url(field, url) if url else None


def _redirect_uris(value: Any, client_type: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidField("redirect_uris", "must be a list of URLs")
    uris = [uri.strip() for uri in value if uri.strip()]
    # A backend service (SMART Backend Services) never redirects a browser.
    if not uris and client_type != ASYMMETRIC:
        raise InvalidField("redirect_uris", "at least one redirect URI is required")
    return tuple(dict.fromkeys(_redirect_uri(uri) for uri in uris))


def _redirect_uri(uri: str) -> str:
    scheme = urlsplit(uri).scheme
    if "." in scheme and uri.startswith(scheme + ":/") and "#" not in uri:
        return uri  # com.example.app:/callback
    return check_url("redirect_uris", uri)


def _scopes(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_SCOPES
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    if not isinstance(value, str):
        raise InvalidField("scopes", "must be a space-separated string")
    try:
        return " ".join(scope.text for scope in parse_scope(value))
    except ScopeError as exc:
        raise InvalidField("scopes", str(exc)) from exc


def _key_set(
    raw: Mapping[str, Any], client_type: str
) -> tuple[str | None, dict[str, Any] | None]:
    jwks_url = _text(raw, "jwks_url") or None
    jwks = raw.get("jwks") or None
    if client_type != ASYMMETRIC:
        if jwks_url or jwks:
            raise InvalidField("jwks", f"a JWK Set is only for {ASYMMETRIC} clients")
        return None, None
    if bool(jwks_url) == bool(jwks):
        raise InvalidField("jwks", "give exactly one of a JWK Set URL or a pasted JWK Set")
    if jwks_url:
        return check_url("jwks_url", jwks_url), None
    text = jwks if isinstance(jwks, str) else orjson.dumps(jwks).decode()
    return None, parse_jwks("jwks", text)
