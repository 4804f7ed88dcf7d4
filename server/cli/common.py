"""What every command shares: the one-line error, settings loading, JSON output."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from server.settings import Settings


class CommandError(Exception):
    """One clear line for stderr; exit code 1."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = str(err["loc"][0]) if err["loc"] else "configuration"
        raise CommandError(f"bad configuration: {name}: {err['msg']}") from None


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
