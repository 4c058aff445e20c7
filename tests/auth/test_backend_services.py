"""SMART Backend Services: client_credentials with a private_key_jwt client assertion.

https://hl7.org/fhir/smart-app-launch/backend-services.html and RFC 7523 §3: every kind
of bad assertion is ``invalid_client`` (401); scopes are ``invalid_scope``; other client
types are ``unauthorized_client``. JWK Sets by URL come from a loopback server here.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA384
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from sqlalchemy import Engine, select
from starlette.applications import Starlette

from isocenter.auth.assertions import ClientAssertions
from isocenter.auth.clients import App
from isocenter.auth.errors import InvalidClient
from isocenter.auth.jwks_fetch import JwksFetcher, JwksUnavailable, cache_seconds
from isocenter.auth.server import AuthServer
from isocenter.config import Settings
from isocenter.store.schema import client_assertion_jti
from tests.auth.conftest import BASE_URL, FHIR_BASE, Http

TOKEN_URL = BASE_URL + "/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REGISTERED = "system/*.read system/Observation.rs"

ES_KEY = ECKey.generate_key("P-384", parameters={"kid": "es-1"})
RS_KEY = RSAKey.generate_key(2048, parameters={"kid": "rs-1"})
OTHER_ES_KEY = ECKey.generate_key("P-384", parameters={"kid": "es-1"})


def public_set(*keys: ECKey | RSAKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


@pytest.fixture
def auth_settings() -> Settings:
    # Development mode: the loopback JWK Set server below speaks plain http.
    return Settings(database_url="sqlite://", base_url=BASE_URL, demo=False, development=True)


@pytest.fixture
def backend(server: AuthServer) -> App:
    app, _ = server.apps.register(
        name="Population health",
        client_type="confidential-asymmetric",
        redirect_uris=[],
        scopes=REGISTERED,
        jwks=public_set(ES_KEY, RS_KEY),
    )
    return app


def claims_for(client_id: str, **overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 240,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(
    claims: dict[str, Any],
    key: Any = ES_KEY,
    alg: str = "ES384",
    **header_overrides: Any,
) -> str:
    header = {"alg": alg, "kid": key.kid, "typ": "JWT", **header_overrides}
    header = {name: value for name, value in header.items() if value is not None}
    return jwt.encode(header, claims, key, algorithms=[alg])


def token_request(
    http: Http, assertion: str, scope: str = "system/*.read", **extra: str
) -> Any:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
        **extra,
    }
    return http.post("/auth/token", data=form)


def refused(response: Any, error: str = "invalid_client") -> str:
    assert response.status_code == (401 if error == "invalid_client" else 400), response.text
    body = response.json()
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    description: str = body["error_description"]
    return description


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{part(header)}.{part(claims)}."


# --- a good assertion -------------------------------------------------------------------


@pytest.mark.parametrize(("key", "alg"), [(ES_KEY, "ES384"), (RS_KEY, "RS384")])
def test_a_signed_assertion_gets_a_five_minute_system_token_without_refresh(
    http: Http, backend: App, key: Any, alg: str
) -> None:
    response = token_request(http, sign(claims_for(backend.client_id), key, alg))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/*.read"
    assert "refresh_token" not in body and "id_token" not in body
    assert response.headers["cache-control"] == "no-store"


def test_the_token_searches_fhir_with_system_access(
    http: Http, backend: App, guarded_app: Starlette
) -> None:
    with guarded_app.state.fhir.store.writer() as writer:
        writer.put({"resourceType": "Patient", "id": "p1", "gender": "female"})
        writer.put({"resourceType": "Patient", "id": "p2", "gender": "male"})
    token = token_request(http, sign(claims_for(backend.client_id))).json()["access_token"]

    search = http.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    write = http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient"},
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )

    assert search.status_code == 200
    assert search.json()["total"] == 2
    assert write.status_code == 403  # system/*.read grants no create


def test_the_client_id_form_field_may_name_the_app(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id))

    response = token_request(http, assertion, client_id=backend.client_id)

    assert response.status_code == 200


def test_aud_may_be_a_list_holding_the_token_url(http: Http, backend: App) -> None:
    claims = claims_for(backend.client_id, aud=["https://other.example", TOKEN_URL])

    assert token_request(http, sign(claims)).status_code == 200


def test_an_assertion_signed_without_joserfc_is_accepted(
    http: Http, server: AuthServer
) -> None:
    # Signed by hand with cryptography (RFC 7515 §3.1, RFC 7518 §3.4 r||s), as another
    # client's JOSE library would: no shared code with the verifier.
    private = ec.generate_private_key(ec.SECP384R1())
    numbers = private.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-384", "kid": "hand", "x": b64(numbers.x), "y": b64(numbers.y)}
    app, _ = server.apps.register(
        name="Hand signed",
        client_type="confidential-asymmetric",
        redirect_uris=[],
        scopes=REGISTERED,
        jwks={"keys": [jwk]},
    )
    header = {"alg": "ES384", "kid": "hand", "typ": "JWT"}
    signing_input = f"{part(header)}.{part(claims_for(app.client_id))}"
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(SHA384())))
    signature = base64.urlsafe_b64encode(r.to_bytes(48) + s.to_bytes(48)).rstrip(b"=")

    response = token_request(http, f"{signing_input}.{signature.decode()}")

    assert response.status_code == 200, response.text


def b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(48)).rstrip(b"=").decode()


def part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# --- every kind of bad assertion: invalid_client ----------------------------------------


def test_alg_none_is_refused(http: Http, backend: App) -> None:
    assertion = unsigned(
        {"alg": "none", "kid": "es-1", "typ": "JWT"}, claims_for(backend.client_id)
    )

    assert "alg" in refused(token_request(http, assertion))


def test_hs256_is_refused_even_keyed_with_the_public_key(http: Http, backend: App) -> None:
    # The RS/HS confusion attack: an HMAC keyed with bytes the attacker knows.
    secret = OctKey.import_key(json.dumps(ES_KEY.as_dict(private=False)).encode())
    claims = claims_for(backend.client_id)
    assertion = jwt.encode({"alg": "HS256", "kid": "es-1", "typ": "JWT"}, claims, secret)

    assert "alg" in refused(token_request(http, assertion))


def test_rs256_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), RS_KEY, "RS256")

    assert "alg" in refused(token_request(http, assertion))


def test_a_missing_kid_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), kid=None)

    assert "kid" in refused(token_request(http, assertion))


def test_an_unknown_kid_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), kid="not-registered")

    assert "kid" in refused(token_request(http, assertion))


def test_a_kid_whose_key_does_not_fit_the_alg_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), RS_KEY, "RS384", kid="es-1")

    refused(token_request(http, assertion))


def test_a_wrong_typ_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), typ="at+jwt")

    assert "typ" in refused(token_request(http, assertion))


def test_a_jku_other_than_the_registered_url_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), jku="https://attacker.example/jwks")

    assert "jku" in refused(token_request(http, assertion))


@pytest.mark.parametrize("claim", ["iss", "sub"])
def test_iss_and_sub_must_both_be_the_client_id(http: Http, backend: App, claim: str) -> None:
    assertion = sign(claims_for(backend.client_id, **{claim: "someone-else"}))

    response = token_request(http, assertion, client_id=backend.client_id)

    assert "iss and sub" in refused(response)


def test_a_form_client_id_other_than_the_assertions_is_refused(
    http: Http, backend: App, server: AuthServer
) -> None:
    other, _ = server.apps.register(
        name="Other",
        client_type="confidential-asymmetric",
        redirect_uris=[],
        scopes=REGISTERED,
        jwks=public_set(ES_KEY),
    )
    assertion = sign(claims_for(backend.client_id))

    refused(token_request(http, assertion, client_id=other.client_id))


def test_a_wrong_aud_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id, aud=FHIR_BASE))

    assert "aud" in refused(token_request(http, assertion))


def test_an_expired_assertion_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id, exp=int(time.time()) - 120))

    assert "expired" in refused(token_request(http, assertion))


def test_an_assertion_a_little_past_exp_is_within_the_clock_skew(
    http: Http, backend: App
) -> None:
    assertion = sign(claims_for(backend.client_id, exp=int(time.time()) - 20))

    assert token_request(http, assertion).status_code == 200


def test_exp_more_than_five_minutes_ahead_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id, exp=int(time.time()) + 900))

    assert "five minutes" in refused(token_request(http, assertion))


def test_a_missing_exp_is_refused(http: Http, backend: App) -> None:
    claims = claims_for(backend.client_id)
    del claims["exp"]

    assert "exp" in refused(token_request(http, sign(claims)))


def test_a_missing_jti_is_refused(http: Http, backend: App) -> None:
    claims = claims_for(backend.client_id)
    del claims["jti"]

    assert "jti" in refused(token_request(http, sign(claims)))


def test_a_replayed_jti_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id))
    assert token_request(http, assertion).status_code == 200

    assert "already used" in refused(token_request(http, assertion))


def test_a_jti_reused_in_a_new_assertion_is_refused(http: Http, backend: App) -> None:
    first = sign(claims_for(backend.client_id, jti="once"))
    second = sign(claims_for(backend.client_id, jti="once", exp=int(time.time()) + 200))
    assert token_request(http, first).status_code == 200

    refused(token_request(http, second))


def test_a_bad_signature_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id), OTHER_ES_KEY)  # same kid, other key

    assert "signature" in refused(token_request(http, assertion))


def test_a_tampered_payload_is_refused(http: Http, backend: App) -> None:
    header, _, signature = sign(claims_for(backend.client_id)).split(".")
    forged = claims_for(backend.client_id, exp=int(time.time()) + 290)
    payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()

    refused(token_request(http, f"{header}.{payload}.{signature}"))


def test_a_bad_signature_does_not_spend_the_jti(http: Http, backend: App) -> None:
    claims = claims_for(backend.client_id)
    refused(token_request(http, sign(claims, OTHER_ES_KEY)))

    assert token_request(http, sign(claims)).status_code == 200


def test_garbage_is_refused(http: Http, backend: App) -> None:
    refused(token_request(http, "not-a-jwt", client_id=backend.client_id))


def test_a_wrong_assertion_type_is_refused(http: Http, backend: App) -> None:
    assertion = sign(claims_for(backend.client_id))

    refused(token_request(http, assertion, client_assertion_type="urn:example:other"))


def test_a_disabled_app_is_refused(http: Http, backend: App, server: AuthServer) -> None:
    server.apps.disable(backend.client_id)

    assert "disabled" in refused(token_request(http, sign(claims_for(backend.client_id))))


def test_an_unknown_client_is_refused(http: Http, backend: App) -> None:
    refused(token_request(http, sign(claims_for("nobody"))))


# --- other client types -----------------------------------------------------------------


def test_a_public_app_may_not_use_client_credentials(http: Http, server: AuthServer) -> None:
    app, _ = server.apps.register(
        name="Public",
        client_type="public",
        redirect_uris=["https://app.example.org/cb"],
        scopes=REGISTERED,
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "scope": "system/*.read",
    }

    refused(http.post("/auth/token", data=form), "unauthorized_client")


def test_a_symmetric_app_may_not_use_client_credentials(http: Http, server: AuthServer) -> None:
    app, secret = server.apps.register(
        name="Secretive",
        client_type="confidential-symmetric",
        redirect_uris=["https://app.example.org/cb"],
        scopes=REGISTERED,
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": secret or "",
        "scope": "system/*.read",
    }

    refused(http.post("/auth/token", data=form), "unauthorized_client")


def test_a_symmetric_app_cannot_authenticate_by_assertion(
    http: Http, server: AuthServer
) -> None:
    app, _ = server.apps.register(
        name="Secretive",
        client_type="confidential-symmetric",
        redirect_uris=["https://app.example.org/cb"],
        scopes=REGISTERED,
    )

    refused(token_request(http, sign(claims_for(app.client_id))))


# --- scope ------------------------------------------------------------------------------


def test_v2_scopes_within_the_registered_v1_ones_are_granted(http: Http, backend: App) -> None:
    scope = "system/Patient.rs system/Observation.r"
    response = token_request(http, sign(claims_for(backend.client_id)), scope=scope)

    assert response.json()["scope"] == scope


def test_only_the_registered_part_of_the_scope_is_granted(http: Http, backend: App) -> None:
    scope = "system/*.read system/*.write"
    response = token_request(http, sign(claims_for(backend.client_id)), scope=scope)

    assert response.json()["scope"] == "system/*.read"


def test_a_scope_not_registered_is_invalid_scope(http: Http, backend: App) -> None:
    response = token_request(http, sign(claims_for(backend.client_id)), scope="system/*.cud")

    refused(response, "invalid_scope")


@pytest.mark.parametrize("scope", ["patient/*.read", "user/*.rs", "openid system/*.read", ""])
def test_only_system_scopes_are_granted_to_backend_services(
    http: Http, backend: App, scope: str
) -> None:
    response = token_request(http, sign(claims_for(backend.client_id)), scope=scope)

    refused(response, "invalid_scope")


def test_discovery_advertises_backend_services(http: Http) -> None:
    document = http.get("/fhir/.well-known/smart-configuration").json()

    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert "client_credentials" in document["grant_types_supported"]
    assert "system/*.rs" in document["scopes_supported"]
    assert "client-confidential-asymmetric" in document["capabilities"]


# --- a JWK Set by URL -------------------------------------------------------------------


class JwksServer:
    """A loopback server of one JWK Set, its Cache-Control header and a hit counter."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = public_set(ES_KEY)
        self.cache_control: str | None = "max-age=600"
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.hits += 1
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if owner.cache_control is not None:
                    self.send_header("Cache-Control", owner.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    served = JwksServer()
    yield served
    served.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fetcher() -> Iterator[tuple[JwksFetcher, Clock]]:
    clock = Clock()
    made = JwksFetcher(development=True, clock=clock)
    yield made, clock
    made.close()


def test_a_fetched_set_is_kept_for_its_max_age(
    jwks_server: JwksServer, fetcher: tuple[JwksFetcher, Clock]
) -> None:
    jwks_fetcher, clock = fetcher
    jwks_server.cache_control = "public, max-age=60"

    jwks_fetcher.get(jwks_server.url)
    jwks_fetcher.get(jwks_server.url)
    assert jwks_server.hits == 1
    clock.now += 61
    jwks_fetcher.get(jwks_server.url)

    assert jwks_server.hits == 2


@pytest.mark.parametrize(
    "cache_control", ["no-store", "no-cache", "max-age=60, no-cache", None]
)
def test_a_set_without_a_max_age_or_marked_no_store_is_not_kept(
    jwks_server: JwksServer, fetcher: tuple[JwksFetcher, Clock], cache_control: str | None
) -> None:
    jwks_fetcher, _ = fetcher
    jwks_server.cache_control = cache_control

    jwks_fetcher.get(jwks_server.url)
    jwks_fetcher.get(jwks_server.url)

    assert jwks_server.hits == 2


def test_cache_seconds_reads_max_age_and_caps_it() -> None:
    assert cache_seconds("max-age=120") == 120
    assert cache_seconds("private, max-age=99999999") == 3600
    assert cache_seconds("max-age=abc") == 0
    assert cache_seconds("no-store, max-age=60") == 0


def test_http_urls_are_refused_outside_development_mode(jwks_server: JwksServer) -> None:
    production = JwksFetcher(development=False)
    try:
        with pytest.raises(JwksUnavailable):
            production.get(jwks_server.url)
        with pytest.raises(JwksUnavailable):
            JwksFetcher(development=True).check_url("http://jwks.example.org/keys")
    finally:
        production.close()
    assert jwks_server.hits == 0


def test_an_unknown_kid_fetches_the_set_again_once(
    engine: Engine, jwks_server: JwksServer, fetcher: tuple[JwksFetcher, Clock]
) -> None:
    jwks_fetcher, _ = fetcher
    verifier = ClientAssertions(engine, token_url=TOKEN_URL, fetcher=jwks_fetcher)
    app = App(
        "c1", "Backend", "confidential-asymmetric", (), REGISTERED, jwks_url=jwks_server.url
    )
    verifier.verify(app, sign(claims_for("c1")))
    verifier.verify(app, sign(claims_for("c1")))
    assert jwks_server.hits == 1  # cached for its max-age

    rotated = ECKey.generate_key("P-384", parameters={"kid": "es-2"})
    jwks_server.jwks = public_set(rotated)
    verifier.verify(app, sign(claims_for("c1"), rotated))
    assert jwks_server.hits == 2  # es-2 was unknown: fetched once more, found

    with pytest.raises(InvalidClient):
        verifier.verify(app, sign(claims_for("c1"), kid="es-unknown"))
    assert jwks_server.hits == 3  # one more fetch, not a loop


def test_a_jwks_url_app_gets_a_token_through_the_endpoint(
    http: Http, server: AuthServer, jwks_server: JwksServer
) -> None:
    app, _ = server.apps.register(
        name="By URL",
        client_type="confidential-asymmetric",
        redirect_uris=[],
        scopes=REGISTERED,
        jwks_url=jwks_server.url,
    )

    response = token_request(http, sign(claims_for(app.client_id)))

    assert response.status_code == 200, response.text


def test_an_unreachable_jwks_url_is_invalid_client(http: Http, server: AuthServer) -> None:
    app, _ = server.apps.register(
        name="Gone",
        client_type="confidential-asymmetric",
        redirect_uris=[],
        scopes=REGISTERED,
        jwks_url="http://127.0.0.1:9/jwks.json",
    )

    refused(token_request(http, sign(claims_for(app.client_id))))


def test_concurrent_replays_of_one_assertion_succeed_once(engine: Engine) -> None:
    verifier = ClientAssertions(
        engine, token_url=TOKEN_URL, fetcher=JwksFetcher(development=True)
    )
    app = App(
        "c1", "Backend", "confidential-asymmetric", (), REGISTERED, jwks=public_set(ES_KEY)
    )
    assertion = sign(claims_for("c1"))
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            verifier.verify(app, assertion)
            outcomes.append("accepted")
        except InvalidClient:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted", "refused", "refused", "refused"]


def test_a_jti_may_come_back_once_its_assertion_could_no_longer_be_accepted(
    engine: Engine,
) -> None:
    clock = Clock()
    clock.now = time.time()
    verifier = ClientAssertions(engine, token_url=TOKEN_URL, fetcher=JwksFetcher(), clock=clock)
    app = App(
        "c1", "Backend", "confidential-asymmetric", (), REGISTERED, jwks=public_set(ES_KEY)
    )
    verifier.verify(app, sign(claims_for("c1", jti="j", exp=int(clock.now) + 60)))

    clock.now += 60 + 60 + 2  # past exp and the clock skew
    verifier.verify(app, sign(claims_for("c1", jti="j", exp=int(clock.now) + 60)))

    with engine.connect() as conn:
        kept = conn.execute(select(client_assertion_jti.c.expires_at)).scalars().all()
    assert len(kept) == 1 and kept[0] > clock.now * 1_000_000
