"""Settings, read once from the environment (and CLI flags) into a typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("ISOCENTER_DATA_DIR", "isocenter-data"))


class ConfigError(ValueError):
    """A setting has a value Isocenter cannot run with."""


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8080"
    # True when no base URL was configured: it follows --host/--port (see _listener_url).
    base_url_from_listener: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    demo: bool = True
    cors_allowed_origins: tuple[str, ...] = ("*",)
    default_page_size: int = 50
    max_page_size: int = 1000
    data_dir: Path = field(default=DEFAULT_DATA_DIR)
    # Authorization (issue 3). Refresh tokens granted with offline_access live
    # refresh_token_lifetime_seconds (SMART asks for months); with online_access they end
    # with the sign-in session, so they live session_lifetime_seconds.
    access_token_lifetime_seconds: int = 3600
    refresh_token_lifetime_seconds: int = 90 * 24 * 3600
    authorization_code_lifetime_seconds: int = 120
    launch_lifetime_seconds: int = 300
    session_lifetime_seconds: int = 8 * 3600
    # SMART Backend Services: client_credentials tokens (no refresh token).
    backend_access_token_lifetime_seconds: int = 300
    development: bool = False
    trusted_proxies: tuple[str, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Bulk Data export (issue 4). export_dir None: ``data_dir / "exports"``.
    export_dir: Path | None = None
    export_file_max_resources: int = 100_000
    export_max_jobs_per_client: int = 3
    export_expiry_seconds: int = 24 * 3600
    export_retry_after_seconds: int = 2
    export_in_process_worker: bool = True
    # "s3://bucket/prefix": export files go to S3-compatible storage instead of export_dir.
    export_storage_url: str = ""
    export_s3_endpoint_url: str = ""

    @property
    def fhir_base_url(self) -> str:
        return self.base_url.rstrip("/") + "/fhir"

    @property
    def resolved_export_dir(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'isocenter.db'}"

    def with_overrides(self, **overrides: object) -> Settings:
        given = {key: value for key, value in overrides.items() if value is not None}
        if "base_url" in given:
            given["base_url_from_listener"] = False
        settings = replace(self, **given)  # type: ignore[arg-type]
        if settings.base_url_from_listener:
            settings = replace(settings, base_url=_listener_url(settings))
        return _checked(settings)


def _listener_url(settings: Settings) -> str:
    """The base URL when none is configured: where this process listens (loopback for a
    wildcard address, since links must name a host a client can reach)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls_cert is not None else "http"
    return f"{scheme}://{host}:{settings.port}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _checked(settings: Settings) -> Settings:
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"base URL must start with http:// or https://: {settings.base_url!r}"
        )
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port out of range: {settings.port}")
    if settings.workers < 1:
        raise ConfigError("workers must be at least 1")
    if not 0 < settings.default_page_size <= settings.max_page_size:
        raise ConfigError("default page size must be between 1 and the maximum page size")
    _check_auth(settings)
    return settings


def _check_auth(settings: Settings) -> None:
    # RFC 6749 §4.1.2: codes are short-lived; ten minutes at most, we keep to five.
    if not 60 <= settings.authorization_code_lifetime_seconds <= 300:
        raise ConfigError("authorization code lifetime must be 60 to 300 seconds")
    if not 0 < settings.access_token_lifetime_seconds <= 24 * 3600:
        raise ConfigError("access token lifetime must be 1 second to 24 hours")
    if settings.refresh_token_lifetime_seconds < 90 * 24 * 3600:
        raise ConfigError("offline refresh tokens must last at least 90 days")
    if not 0 < settings.launch_lifetime_seconds <= 3600:
        raise ConfigError("launch lifetime must be 1 second to 1 hour")
    if settings.session_lifetime_seconds <= 0:
        raise ConfigError("session lifetime must be positive")
    if not 0 < settings.backend_access_token_lifetime_seconds <= 3600:
        raise ConfigError("backend access token lifetime must be 1 second to 1 hour")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError("TLS needs both a certificate and a key file")
    if settings.tls_cert is not None and not settings.base_url.startswith("https://"):
        raise ConfigError("serving HTTPS: the public base URL must start with https://")


def load_settings() -> Settings:
    """Settings from ISOCENTER_* environment variables, with embedded defaults."""
    origins = os.environ.get("ISOCENTER_CORS_ALLOWED_ORIGINS", "*")
    settings = Settings(
        database_url=os.environ.get("ISOCENTER_DATABASE_URL", ""),
        base_url=os.environ.get("ISOCENTER_BASE_URL", ""),
        base_url_from_listener=not os.environ.get("ISOCENTER_BASE_URL"),
        host=os.environ.get("ISOCENTER_HOST", "127.0.0.1"),
        port=_int("ISOCENTER_PORT", 8080),
        workers=_int("ISOCENTER_WORKERS", 1),
        demo=_bool("ISOCENTER_DEMO", True),
        cors_allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        default_page_size=_int("ISOCENTER_DEFAULT_PAGE_SIZE", 50),
        max_page_size=_int("ISOCENTER_MAX_PAGE_SIZE", 1000),
        data_dir=DEFAULT_DATA_DIR,
        access_token_lifetime_seconds=_int("ISOCENTER_ACCESS_TOKEN_LIFETIME_SECONDS", 3600),
        refresh_token_lifetime_seconds=_int(
            "ISOCENTER_REFRESH_TOKEN_LIFETIME_SECONDS", 90 * 24 * 3600
        ),
        authorization_code_lifetime_seconds=_int(
            "ISOCENTER_AUTHORIZATION_CODE_LIFETIME_SECONDS", 120
        ),
        launch_lifetime_seconds=_int("ISOCENTER_LAUNCH_LIFETIME_SECONDS", 300),
        session_lifetime_seconds=_int("ISOCENTER_SESSION_LIFETIME_SECONDS", 8 * 3600),
        backend_access_token_lifetime_seconds=_int(
            "ISOCENTER_BACKEND_ACCESS_TOKEN_LIFETIME_SECONDS", 300
        ),
        development=_bool("ISOCENTER_DEVELOPMENT", False),
        trusted_proxies=_list("ISOCENTER_TRUSTED_PROXIES"),
        tls_cert=_path("ISOCENTER_TLS_CERT"),
        tls_key=_path("ISOCENTER_TLS_KEY"),
        export_dir=_path("ISOCENTER_EXPORT_DIR"),
        export_file_max_resources=_int("ISOCENTER_EXPORT_FILE_MAX_RESOURCES", 100_000),
        export_max_jobs_per_client=_int("ISOCENTER_EXPORT_MAX_JOBS_PER_CLIENT", 3),
        export_expiry_seconds=_int("ISOCENTER_EXPORT_EXPIRY_SECONDS", 24 * 3600),
        export_storage_url=os.environ.get("ISOCENTER_EXPORT_STORAGE_URL", ""),
        export_s3_endpoint_url=os.environ.get("ISOCENTER_EXPORT_S3_ENDPOINT_URL", ""),
    )
    if settings.base_url_from_listener:
        settings = replace(settings, base_url=_listener_url(settings))
    return _checked(settings)


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _path(name: str) -> Path | None:
    raw = os.environ.get(name, "")
    return Path(raw) if raw else None
