"""Callback tokens and wake-ups on their own: a token only its digest matches, a nap a callback cuts short (never
shorter than the least interval), and a gateway whose callbacks stop arriving losing the trust that slows polling."""

from __future__ import annotations

import logging

import anyio
import pytest

from server.engine.callbacks import CALLBACK_PATH, Wakes, matches, mint

pytestmark = pytest.mark.anyio


def test_a_callback_url_carries_a_fresh_token_and_the_ledger_only_its_digest():
    url, digest = mint("https://videogen.example.com/", "vg_" + "a" * 32)
    again, other = mint("https://videogen.example.com", "vg_" + "a" * 32)
    prefix = f"https://videogen.example.com{CALLBACK_PATH}/vg_{'a' * 32}/"
    assert url.startswith(prefix) and again.startswith(prefix) and url != again and digest != other
    token = url.removeprefix(prefix)
    assert len(token) >= 32 and token not in digest
    assert matches(digest, token) and not matches(digest, token[:-1] + "x") and not matches(None, token)


async def test_a_callback_cuts_the_nap_short_but_not_below_the_least_interval():
    wakes = Wakes()
    async with anyio.create_task_group() as tg:
        woken: list[bool] = []

        async def sleeper() -> None:
            woken.append(await wakes.nap("vg_1", 30.0, least=0.2))

        began = anyio.current_time()
        tg.start_soon(sleeper)
        await anyio.sleep(0.01)
        wakes.wake("vg_1", "apimodels")
    assert woken == [True] and 0.2 <= anyio.current_time() - began < 5
    began = anyio.current_time()
    assert await wakes.nap("vg_2", 0.05, least=0.01) is False  # no callback: the whole nap
    assert anyio.current_time() - began >= 0.05
    wakes.wake("vg_3", "apimodels")  # arrived before its poller went to sleep
    assert await wakes.nap("vg_3", 30.0, least=0.0) is True


def test_a_job_found_over_with_no_callback_stops_trusting_that_gateway_until_one_arrives(caplog):
    wakes = Wakes()
    assert wakes.trusted("apimodels")
    with caplog.at_level(logging.WARNING, logger="server.engine.callbacks"):
        wakes.missed("apimodels", "vg_1")
        wakes.missed("apimodels", "vg_2")
    assert not wakes.trusted("apimodels") and wakes.trusted("other")
    assert len([r for r in caplog.records if "VIDEOGEN_PUBLIC_URL" in r.getMessage()]) == 1  # said once
    wakes.wake("vg_3", "apimodels")
    assert wakes.trusted("apimodels")
