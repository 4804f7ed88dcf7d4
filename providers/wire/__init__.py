"""Vendor wire formats (Kling, Seedance/Ark, ...) as pure functions over the normalized request."""

from __future__ import annotations

from typing import Any


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    """The body without unset fields (an absent field lets the gateway apply its documented default)."""
    return {k: v for k, v in body.items() if v is not None and v != [] and v != {}}
