"""Gateway texts through the whole server: a key a gateway echoes in a poll failure reason reaches no tool result,
log line, exception or ledger row; a failed Kling task read on Shape B without a reason is re-read on Shape A."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from fakes.gateways import Timeline, fake_for
from mcp import Client
from pydantic import SecretStr

from providers.base import TaskStatus, VideoRequest
from providers.errors import InvalidRequest
from providers.registry import adapter_class
from server.app import build_server
from server.settings import Settings

pytestmark = pytest.mark.anyio
KEY = "sk-SENTINEL-ECHOED-4471"


def settings(home: Path, provider: str, base_url: str) -> Settings:
    prefix = provider.upper()
    return Settings(_env_file=None, VIDEOGEN_HOME=str(home), VIDEOGEN_SANDBOX=False, VIDEOGEN_DEDUPE_WINDOW=0,
                    VIDEOGEN_POLL_MIN_INTERVAL=0.05, VIDEOGEN_POLL_MAX_INTERVAL=0.2,
                    **{f"{prefix}_API_KEY": KEY, f"{prefix}_BASE_URL": base_url + "/v1"})


def ledger_text(home: Path) -> str:
    with sqlite3.connect(home / "tasks.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables for row in db.execute(f"SELECT * FROM {t}"))


@pytest.mark.parametrize("provider", ["orcarouter", "octopusx", "apimodels"])
async def test_a_key_echoed_in_a_poll_failure_reason_appears_nowhere(tmp_path, caplog, provider):
    caplog.set_level(logging.DEBUG)
    gw = fake_for(provider, api_key=KEY)
    gw.script(Timeline(seconds=0, fail=f"upstream refused Authorization: Bearer {KEY} (quota)"))
    with gw.serve() as base_url:
        async with Client(build_server(settings(tmp_path, provider, base_url))) as c:
            model = {"orcarouter": "kling/kling-v3", "octopusx": "Kling-2.6", "apimodels": "kling-v3"}[provider]
            r = await c.call_tool("generate_video", {"model": f"{provider}/{model}", "prompt": "a harbour",
                                                     "duration": 5, "wait_seconds": 20})
            again = await c.call_tool("get_video_task", {"task_id": r.structured_content["task_id"]})
    task = r.structured_content
    assert task["status"] == "failed", r.content[0].text
    assert "upstream refused" in str(task)  # the reason itself still reaches the agent
    assert gw.created == 1
    for text in (r.content[0].text, str(task), str(again.content), str(again.structured_content), caplog.text,
                 ledger_text(tmp_path)):
        assert KEY not in text


async def test_failed_task_without_a_reason_on_shape_b_is_re_read_on_shape_a():
    # ConvertToOpenAIVideo (Kling) sets `error` only when the vendor code != 0: Shape B may say "failed" bare.
    gw = fake_for("octopusx", api_key=KEY, videos_shape="B_no_reason")
    gw.script(Timeline(seconds=0, fail="content policy: face detected"))
    async with gw.client() as client:
        provider = adapter_class("octopusx")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        accepted = await provider.submit(VideoRequest(model="Kling-2.6", prompt="a kite", duration=5))
        done = await provider.get(accepted.upstream_id)
    assert done.status is TaskStatus.FAILED and "face detected" in (done.error_message or "")
    assert [r.path.rsplit("/", 1)[0] for r in gw.requests if r.route == "poll"] == ["/v1/videos",
                                                                                  "/v1/video/generations"]


@pytest.mark.parametrize(("images", "ok"), [
    ({"first_frame": "https://i.example/1.png"}, True),
    ({"first_frame": "https://i.example/1.png", "last_frame": "https://i.example/2.png"}, True),
    ({"reference_images": [f"https://i.example/{i}.png" for i in range(3)]}, True),
    ({"first_frame": "https://i.example/1.png", "reference_images": ["https://i.example/r.png"]}, False),
    ({"reference_images": ["https://i.example/r.png"]}, False),
])
async def test_omnirouters_sends_only_image_lists_it_cannot_misread(images, ok):
    from fakes.requests import req

    gw = fake_for("omnirouters", api_key=KEY)
    async with gw.client() as client:
        provider = adapter_class("omnirouters")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        request = req("Kling-3.0-omni", duration=5, **images)
        if ok:
            await provider.submit(request)
        else:
            with pytest.raises(InvalidRequest, match="images"):
                await provider.submit(request)
    assert len(gw.submits) == (1 if ok else 0)


async def test_infinityblue_veo_refuses_an_image_url_it_would_ignore():
    from fakes.requests import req

    gw = fake_for("infinityblue", api_key=KEY)
    async with gw.client() as client:
        provider = adapter_class("infinityblue")(client, base_url=gw.base_url, api_key=SecretStr(KEY))
        with pytest.raises(InvalidRequest, match="inline"):
            await provider.submit(req("veo_3_1", duration=8, first_frame="https://i.example/1.png"))
    assert gw.submits == []
