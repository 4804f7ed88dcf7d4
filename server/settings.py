"""Configuration from environment variables and `.env` (interface.md's table). Nothing is read at import time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from providers.registry import SPECS, GatewayConfig


def default_home() -> Path:
    """The platform's user data folder: ~/.local/share/videogen-mcp (or $XDG_DATA_HOME) on Linux,
    ~/Library/Application Support/videogen-mcp on macOS, %LOCALAPPDATA%\\videogen-mcp on Windows."""
    import platformdirs

    return platformdirs.user_data_path("videogen-mcp", appauthor=False, roaming=False)


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    orcarouter_api_key: SecretStr | None = Field(None, validation_alias=_env("ORCAROUTER_API_KEY"))
    omnirouters_api_key: SecretStr | None = Field(None, validation_alias=_env("OMNIROUTERS_API_KEY"))
    octopusx_api_key: SecretStr | None = Field(None, validation_alias=_env("OCTOPUSX_API_KEY"))
    apimodels_api_key: SecretStr | None = Field(None, validation_alias=_env("APIMODELS_API_KEY"))
    infinityblue_api_key: SecretStr | None = Field(None, validation_alias=_env("INFINITYBLUE_API_KEY"))
    orcarouter_base_url: str | None = Field(None, validation_alias=_env("ORCAROUTER_BASE_URL"))
    omnirouters_base_url: str | None = Field(None, validation_alias=_env("OMNIROUTERS_BASE_URL"))
    octopusx_base_url: str | None = Field(None, validation_alias=_env("OCTOPUSX_BASE_URL"))
    apimodels_base_url: str | None = Field(None, validation_alias=_env("APIMODELS_BASE_URL"))
    infinityblue_base_url: str | None = Field(None, validation_alias=_env("INFINITYBLUE_BASE_URL"))

    sandbox: bool = Field(True, validation_alias=_env("VIDEOGEN_SANDBOX"))
    sandbox_seconds: float = Field(8.0, ge=0, validation_alias=_env("VIDEOGEN_SANDBOX_SECONDS"))
    home: Path = Field(default_factory=default_home, validation_alias=_env("VIDEOGEN_HOME"))
    download_dir: Path | None = Field(None, validation_alias=_env("VIDEOGEN_DOWNLOAD_DIR"))
    # None: on. Over HTTP too: the server's saved copy is the only link every client can open (a sandbox URL is
    # unreachable, a gateway's may need the key); `0` keeps the disk empty and hands out the gateway's links.
    download: bool | None = Field(None, validation_alias=_env("VIDEOGEN_DOWNLOAD"))
    max_download_mb: float = Field(500, gt=0, validation_alias=_env("VIDEOGEN_MAX_DOWNLOAD_MB"))
    input_dirs: str | None = Field(None, validation_alias=_env("VIDEOGEN_INPUT_DIRS"))  # os.pathsep-separated
    default_wait: float = Field(40.0, ge=0, le=3600, validation_alias=_env("VIDEOGEN_DEFAULT_WAIT"))
    poll_min_interval: float = Field(2.0, gt=0, validation_alias=_env("VIDEOGEN_POLL_MIN_INTERVAL"))
    poll_max_interval: float = Field(15.0, gt=0, validation_alias=_env("VIDEOGEN_POLL_MAX_INTERVAL"))
    dedupe_window: float = Field(120.0, ge=0, validation_alias=_env("VIDEOGEN_DEDUPE_WINDOW"))
    allow_private_urls: bool = Field(False, validation_alias=_env("VIDEOGEN_ALLOW_PRIVATE_URLS"))
    http_timeout: float = Field(60.0, gt=0, validation_alias=_env("VIDEOGEN_HTTP_TIMEOUT"))
    # Required as a bearer token when `serve --http` binds to anything but loopback.
    http_token: SecretStr | None = Field(None, validation_alias=_env("VIDEOGEN_HTTP_TOKEN"))
    # The origin clients reach `serve --http` at (behind a proxy); unset, each request's own base URL.
    public_url: str | None = Field(None, validation_alias=_env("VIDEOGEN_PUBLIC_URL"))
    log_level: str = Field("WARNING", validation_alias=_env("VIDEOGEN_LOG_LEVEL"))
    # Spending limits (issue 10): a per-job cap, a budget per period shared through the ledger, whether a job of
    # unknown price may run under them, and the estimate above which a client that can ask the user does so.
    max_cost_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_MAX_COST_USD"))
    budget_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_BUDGET_USD"))
    budget_period: Literal["day", "week", "month"] = Field("day", validation_alias=_env("VIDEOGEN_BUDGET_PERIOD"))
    allow_unpriced: bool = Field(False, validation_alias=_env("VIDEOGEN_ALLOW_UNPRICED"))
    confirm_above_usd: float | None = Field(None, ge=0, validation_alias=_env("VIDEOGEN_CONFIRM_ABOVE_USD"))
    # Comma-separated secrets (32+ characters each; the first seals) that protect a 2026-07-28 cost confirmation's
    # requestState, for replicas that must accept each other's; unset, a key made at start-up, good in that process.
    request_state_keys: SecretStr | None = Field(None, validation_alias=_env("VIDEOGEN_REQUEST_STATE_KEYS"))

    @field_validator("max_cost_usd", "budget_usd", "confirm_above_usd", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home", "download_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

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
        key = getattr(self, f"{provider_id}_api_key", None)
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
                base = getattr(self, f"{provider_id}_base_url", None) or spec.default_base_url
                active[provider_id] = GatewayConfig(base, key)
        return active

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log redaction filter."""
        values = [getattr(self, f"{p}_api_key", None) for p in SPECS] + [self.http_token]
        values += [SecretStr(k) for k in self.state_keys()]
        return [v.get_secret_value() for v in values if v is not None and len(v.get_secret_value()) >= 4]

    def state_keys(self) -> list[str]:
        raw = self.request_state_keys.get_secret_value() if self.request_state_keys is not None else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    def missing_keys(self) -> list[str]:
        return [f"{SPECS[p].env_prefix}_API_KEY" for p in SPECS if not SPECS[p].keyless and self.api_key(p) is None]
