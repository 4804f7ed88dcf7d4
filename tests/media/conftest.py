"""Fixtures for the media tests (the fakes themselves live in media_fakes.py)."""

from __future__ import annotations

import httpx2
import pytest
from media_fakes import Origin, video_bytes


@pytest.fixture
def mp4() -> bytes:
    return video_bytes()


@pytest.fixture
def origin(mp4: bytes) -> Origin:
    return Origin(mp4)


@pytest.fixture
async def client(origin: Origin):
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=origin.app), timeout=5) as c:
        yield c
