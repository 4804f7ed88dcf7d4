"""Cold start: `initialize` and `tools/list` load none of the engine's code; the engine starts on first need."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import anyio
import pytest

from server.app import DeferredEngine

# What `initialize` + `tools/list` must not load (benchmarks/ measures what that is worth in milliseconds).
OFF_THE_START_PATH = ("server.engine", "server.engine.core", "server.engine.polling", "server.engine.schedule",
                      "server.engine.submit", "server.ledger", "server.ledger.store", "server.media",
                      "server.media.download", "server.media.images", "server.media.netguard", "server.surface.tools",
                      "sqlite3", "httpcore2", "difflib", "server.ledger.postgres", "psycopg", "psycopg_pool",
                      "server.surface.cost", "server.engine.budget", "providers.prices", "providers.gateway_prices",
                      # PyAV (FFmpeg) and what uses it: the first finished video loads them
                      "av", "server.media.probe", "server.surface.preview", "providers.sandbox_video",
                      "providers.sandbox_font")

PROBE = textwrap.dedent("""
    import json, sys
    import anyio
    from mcp import Client
    from server.app import build_server
    from server.settings import Settings

    HEAVY = json.loads(sys.argv[2])

    async def main():
        settings = Settings(_env_file=None, VIDEOGEN_HOME=sys.argv[1])
        async with Client(build_server(settings, download_default=True), mode="auto") as c:
            names = [t.name for t in (await c.list_tools()).tools]
            before = [m for m in HEAVY if m in sys.modules]
            from server.surface import apps
            view_read = apps.player_html.cache_info().currsize  # the Apps view's HTML: read on its first read
            r = await c.call_tool("get_video_task", {"task_id": "vg_none"})
            after = [m for m in HEAVY if m in sys.modules]
        print(json.dumps({"names": names, "before": before, "after": after, "error": r.is_error,
                          "view_read": view_read}))

    anyio.run(main)
""")


def test_initialize_and_tools_list_load_no_engine_code(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), json.dumps(OFF_THE_START_PATH)],
                         capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(seen["names"]) == ["generate_video", "get_video_task", "list_video_models"]
    assert seen["before"] == []
    assert seen["view_read"] == 0
    assert {"server.engine.core", "server.ledger.store", "server.surface.tools", "sqlite3"} <= set(seen["after"])
    assert seen["error"]  # an unknown task id: answered from the (now running) ledger
    assert not {"server.ledger.postgres", "psycopg", "psycopg_pool"} & set(seen["after"])  # SQLite needs no driver


class FakeEngine:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> FakeEngine:
        self.log.append("enter")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.log.append("exit")


async def run_deferred(delay: float, body):
    log: list[str] = []

    def factory() -> FakeEngine:
        log.append("built")
        return FakeEngine(log)

    deferred = DeferredEngine(factory, delay)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        tg.start_soon(deferred.run)
        try:
            await body(deferred, log)
        finally:
            deferred.close()
    return log


@pytest.mark.anyio
async def test_deferred_engine_starts_at_once_when_a_call_needs_it():
    async def body(deferred, log):
        with anyio.fail_after(5):
            engine = await deferred.get()
        assert isinstance(engine, FakeEngine) and log == ["built", "enter"]

    assert await run_deferred(3600, body) == ["built", "enter", "exit"]


@pytest.mark.anyio
async def test_deferred_engine_starts_by_itself_after_the_delay_to_resume_earlier_jobs():
    async def body(deferred, log):
        await anyio.sleep(0.3)
        assert log == ["built", "enter"]  # nobody asked: started anyway (recovery of earlier jobs runs in it)

    assert await run_deferred(0.05, body) == ["built", "enter", "exit"]


@pytest.mark.anyio
async def test_deferred_engine_closed_before_it_started_is_never_built():
    async def body(deferred, log):
        deferred.close()
        with anyio.fail_after(5), pytest.raises(RuntimeError, match="not running"):
            await deferred.get()

    assert await run_deferred(3600, body) == []


@pytest.mark.anyio
async def test_deferred_engine_failure_reaches_every_caller():
    deferred = DeferredEngine(lambda: (_ for _ in ()).throw(OSError("ledger folder is read-only")), 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(deferred.run)
        for _ in range(2):
            with anyio.fail_after(5), pytest.raises(RuntimeError, match="could not start: ledger folder") as caught:
                await deferred.get()
            assert isinstance(caught.value.__cause__, OSError)
        deferred.close()
