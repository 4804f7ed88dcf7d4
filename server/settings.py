"""Configuration from environment variables and `.env` (interface.md's table). Nothing is read at import time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from providers.policy import Policy
from providers.registry import SPECS, GatewayConfig


def default_home() -> Path:
    """The platform's user data folder: ~/.local/share/videogen-mcp (or $XDG_DATA_HOME) on Linux,
    ~/Library/Application Support/videogen-mcp on macOS, %LOCALAPPDATA%\\videogen-mcp on Windows."""
    import platformdirs

    return platformdirs.user_data_path("videogen-mcp", appauthor=False, roaming=False)


def parse_policy(text: str | None) -> Policy:
    from providers import families, policy, registry  # the family table loads on first use

    return policy.parse(text, gateways=registry.GATEWAY_IDS, models=families.table())


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def _key(provider_id: str) -> str:
    return f"{provider_id}_api_key"


def _base(provider_id: str) -> str:
    return f"{provider_id}_base_url"


def _gateway_fields() -> dict[str, Any]:
    """`<PREFIX>_API_KEY` and `<PREFIX>_BASE_URL` for every gateway row of the registry (interface.md's names)."""
    out: dict[str, Any] = {}
    for spec in SPECS.values():
        if not spec.keyless:
            out[_key(spec.id)] = (SecretStr | None, Field(None, validation_alias=_env(f"{spec.env_prefix}_API_KEY")))
            out[_base(spec.id)] = (str | None, Field(None, validation_alias=_env(f"{spec.env_prefix}_BASE_URL")))
    return out


# Every gateway's settings follow from its registry row: adding a row adds them (env and .env alike).
if TYPE_CHECKING:
    _GatewaySettings = BaseSettings
else:
    _GatewaySettings = create_model("GatewaySettings", __base__=BaseSettings, **_gateway_fields())


class Settings(_GatewaySettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    sandbox: bool = Field(True, validation_alias=_env("VIDEOGEN_SANDBOX"))
    sandbox_seconds: float = Field(8.0, ge=0, validation_alias=_env("VIDEOGEN_SANDBOX_SECONDS"))
    home: Path = Field(default_factory=default_home, validation_alias=_env("VIDEOGEN_HOME"))
    download_dir: Path | None = Field(None, validation_alias=_env("VIDEOGEN_DOWNLOAD_DIR"))
    # None: on. Over HTTP too: the server's saved copy is the only link every client can open (a sandbox URL is
    # unreachable, a gateway's may need the key); `0` keeps the disk empty and hands out the gateway's links.
    download: bool | None = Field(None, validation_alias=_env("VIDEOGEN_DOWNLOAD"))
    max_download_mb: float = Field(500, gt=0, validation_alias=_env("VIDEOGEN_MAX_DOWNLOAD_MB"))
    # A JPEG poster frame beside each saved video, sent as an image block and served as videogen://posters/{id}.
    preview: bool = Field(True, validation_alias=_env("VIDEOGEN_PREVIEW"))
    input_dirs: str | None = Field(None, validation_alias=_env("VIDEOGEN_INPUT_DIRS"))  # os.pathsep-separated
    default_wait: float = Field(40.0, ge=0, le=3600, validation_alias=_env("VIDEOGEN_DEFAULT_WAIT"))
    poll_min_interval: float = Field(2.0, gt=0, validation_alias=_env("VIDEOGEN_POLL_MIN_INTERVAL"))
    poll_max_interval: float = Field(15.0, gt=0, validation_alias=_env("VIDEOGEN_POLL_MAX_INTERVAL"))
    dedupe_window: float = Field(120.0, ge=0, validation_alias=_env("VIDEOGEN_DEDUPE_WINDOW"))
    allow_private_urls: bool = Field(False, validation_alias=_env("VIDEOGEN_ALLOW_PRIVATE_URLS"))
    http_timeout: float = Field(60.0, gt=0, validation_alias=_env("VIDEOGEN_HTTP_TIMEOUT"))
    # Required as a bearer token when `serve --http` binds to anything but loopback (or the two below).
    http_token: SecretStr | None = Field(None, validation_alias=_env("VIDEOGEN_HTTP_TOKEN"))
    # `principal:token` pairs, comma-separated: each principal sees only its own tasks (server/cli/auth.py).
    http_tokens: SecretStr | None = Field(None, validation_alias=_env("VIDEOGEN_HTTP_TOKENS"))
    # OAuth 2.1 resource-server mode: JWTs from this issuer, for this audience (default: the server's /mcp URL).
    oauth_issuer: str | None = Field(None, validation_alias=_env("VIDEOGEN_OAUTH_ISSUER"))
    oauth_audience: str | None = Field(None, validation_alias=_env("VIDEOGEN_OAUTH_AUDIENCE"))
    # The origin clients reach `serve --http` at (behind a proxy); unset, each request's own base URL.
    public_url: str | None = Field(None, validation_alias=_env("VIDEOGEN_PUBLIC_URL"))
    # With serve --http and a public URL: gateways that can call back (apimodels) are asked to, at
    # {public URL}/callbacks/...; `0` keeps polling them.
    callbacks: bool = Field(True, validation_alias=_env("VIDEOGEN_CALLBACKS"))
    log_level: str = Field("WARNING", validation_alias=_env("VIDEOGEN_LOG_LEVEL"))
    # A postgresql:// URL: the ledger in PostgreSQL, shared by server processes on any number of machines.
    database_url: SecretStr | None = Field(None, validation_alias=_env("VIDEOGEN_DATABASE_URL"))
    # Spending limits (issue 10): a per-job cap, a budget per period shared through the ledger, whether a job of
    # unknown price may run under them, and the estimate above which a client that can ask the user does so.
    max_cost_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_MAX_COST_USD"))
    budget_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_BUDGET_USD"))
    budget_period: Literal["day", "week", "month"] = Field("day", validation_alias=_env("VIDEOGEN_BUDGET_PERIOD"))
    allow_unpriced: bool = Field(False, validation_alias=_env("VIDEOGEN_ALLOW_UNPRICED"))
    confirm_above_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_CONFIRM_ABOVE_USD"))
    # Which gateway takes a canonical model id (providers/policy.py): cheapest, prefer:a,b, pin:a; per model `id=`.
    routing: str = Field("cheapest", validation_alias=_env("VIDEOGEN_ROUTING"))

    @field_validator("routing", mode="after")
    @classmethod
    def _routing(cls, value: str) -> str:
        parse_policy(value)  # a typo fails at start, naming what is allowed
        return value

    @property
    def routing_policy(self) -> Policy:
        return parse_policy(self.routing)

    @field_validator("http_token", "http_tokens", "oauth_issuer", "oauth_audience", "max_cost_usd", "budget_usd",
                     "confirm_above_usd", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`VIDEOGEN_HTTP_TOKEN=""` (or spaces) means no token, never a token nobody can send; a blank cap, none."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("home", "download_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("database_url", mode="after")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # blank: unset, the SQLite ledger
        if not value.get_secret_value().strip().startswith(("postgresql://", "postgres://")):
            raise ValueError("VIDEOGEN_DATABASE_URL must be a postgresql:// URL (unset: the SQLite ledger)")
        return SecretStr(value.get_secret_value().strip())

    @property
    def videos_dir(self) -> Path:
        return self.download_dir or self.home / "videos"

    @property
    def ledger_path(self) -> Path:
        return self.home / "tasks.sqlite3"

    @property
    def allowed_input_dirs(self) -> list[Path]:
        if not self.input_dirs:
            return [Path.home()]
        return [Path(p).expanduser() for p in self.input_dirs.split(os.pathsep) if p.strip()]

    def api_key(self, provider_id: str) -> SecretStr | None:
        key = getattr(self, _key(provider_id), None)  # a field _gateway_fields made (None: keyless or unknown)
        return key if key is not None and key.get_secret_value().strip() else None

    def gateways(self) -> dict[str, GatewayConfig]:
        """Active gateways, in registry order: each one whose key is set, plus the sandbox unless hidden."""
        active: dict[str, GatewayConfig] = {}
        for provider_id, spec in SPECS.items():
            if spec.keyless:
                if self.sandbox:
                    active[provider_id] = GatewayConfig(spec.default_base_url, None, {"seconds": self.sandbox_seconds})
                continue
            key = self.api_key(provider_id)
            if key is not None:
                base = getattr(self, _base(provider_id)) or spec.default_base_url
                active[provider_id] = GatewayConfig(base, key)
        return active

    def http_principals(self) -> list[tuple[str, str]]:
        """VIDEOGEN_HTTP_TOKENS as (principal, token) pairs in order; an entry without a colon has principal ""
        (`serve --http` refuses it, naming the entry by position, never by its token)."""
        raw = self.http_tokens.get_secret_value() if self.http_tokens is not None else ""
        pairs = []
        for item in filter(str.strip, raw.split(",")):
            principal, colon, token = item.partition(":")
            pairs.append((principal.strip(), token.strip()) if colon else ("", principal.strip()))
        return pairs

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log redaction filter."""
        values = [self.api_key(p) for p in SPECS] + [self.http_token, self.http_tokens, self.database_url]
        found = [v.get_secret_value() for v in values if v is not None]
        found += [token for _, token in self.http_principals()]
        if self.database_url is not None:  # its password alone, wherever a driver message might quote it
            from urllib.parse import unquote, urlsplit

            password = urlsplit(self.database_url.get_secret_value()).password
            found += [password or "", unquote(password or "")]
        return [v for v in found if len(v) >= 4]

    def missing_keys(self) -> list[str]:
        return [f"{SPECS[p].env_prefix}_API_KEY" for p in SPECS if not SPECS[p].keyless and self.api_key(p) is None]
