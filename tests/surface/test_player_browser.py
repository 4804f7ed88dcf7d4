"""The inline player in a real browser: Debian's chromium, driven by playwright (no browser download), hosts
ui://videogen/player.html through the official MCP Apps AppBridge (tests/browser, pinned from npm). The server runs
in-process on the keyless sandbox; what the view asks for reaches it through the bridge and the MCP SDK's Client.

Locally the tests skip, saying what is missing; under CI=true (.ci/run installs chromium and runs npm ci) they run.
Screenshots land in tests/browser/artifacts/ (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp_types import Implementation

from mcp_support import make_settings
from server.app import build_server
from server.surface import apps

pytestmark = pytest.mark.anyio
HOST_DIR = Path(__file__).resolve().parents[1] / "browser"
ARTIFACTS = HOST_DIR / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-service flags chromium keeps calling out (updates, sync, safe browsing) at start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ORIGIN = "http://host.test/"  # answered by page.route below: nothing leaves the browser
HOST_PAGE = "<!doctype html><html><head><script src='/host.js'></script></head><body style='margin:0'></body></html>"
MODEL = "sandbox/kling-sim"


def missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -e '.[test]'"
    if not Path(CHROMIUM).is_file():
        return "Debian's chromium is not installed: apt-get install -y chromium"
    if not (HOST_DIR / "node_modules" / ".bin" / "esbuild").is_file():
        return "the host bridge is not installed: npm ci --ignore-scripts --prefix tests/browser"
    return None


@pytest.fixture(scope="session")
def host_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/browser/host.js with the official AppBridge, bundled for the page by esbuild."""
    problem = missing()
    if problem and os.environ.get("CI", "").lower() == "true":
        pytest.fail(problem + " (CI=true: the browser test must run)")
    if problem:
        pytest.skip(problem)
    out = tmp_path_factory.mktemp("host") / "host.js"
    subprocess.run([str(HOST_DIR / "node_modules" / ".bin" / "esbuild"), "host.js", "--bundle", "--format=iife",
                    "--log-level=warning", f"--outfile={out}"], cwd=HOST_DIR, check=True, timeout=120)
    return out.read_text(encoding="utf-8")


def dump(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


@dataclass
class Host:
    page: Any  # playwright Page
    client: Client
    asked: list[tuple[str, str]] = field(default_factory=list)  # what the view asked the server for
    problems: list[str] = field(default_factory=list)  # console errors (CSP violations too), stray requests

    async def mcp_call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The host's forwarding of the view's requests to the server (AppBridge onreadresource / oncalltool)."""
        if method == "resources/read":
            self.asked.append((method, params["uri"]))
            return dump(await self.client.read_resource(params["uri"]))
        if method == "tools/call":
            self.asked.append((method, params["name"]))
            return dump(await self.client.call_tool(params["name"], params.get("arguments") or {}))
        raise ValueError(f"the test host does not forward {method}")

    async def route(self, route: Any, script: str) -> None:
        url = route.request.url
        if url == ORIGIN:
            await route.fulfill(body=HOST_PAGE, content_type="text/html")
        elif url == ORIGIN + "host.js":
            await route.fulfill(body=script, content_type="text/javascript")
        else:
            self.problems.append(f"request to {url}")
            await route.abort()

    async def open(self, tool_name: str, theme: str, variables: dict[str, str] | None = None) -> Any:
        """What a host does for a tool with `_meta.ui`: read the view through MCP, frame it, wait for its init."""
        tool = {tool.name: tool for tool in (await self.client.list_tools()).tools}[tool_name]
        (item,) = (await self.client.read_resource(tool.meta["ui"]["resourceUri"])).contents
        assert item.mime_type == apps.APP_MIME_TYPE
        with anyio.fail_after(20):
            await self.page.evaluate("o => videogenHost.open(o)", {"html": item.text, "tool": dump(tool),
                                                                  "theme": theme, "variables": variables or {}})
        return await (await self.page.query_selector_all("iframe"))[-1].content_frame()  # the view just opened

    async def call(self, name: str, args: dict[str, Any],
                   edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """tool-input, the call itself, tool-result (after `edit`, to show the view a case the sandbox lacks)."""
        await self.page.evaluate("a => videogenHost.input(a)", args)
        result = dump(await self.client.call_tool(name, args))
        if edit is not None:
            edit(result)
        await self.page.evaluate("r => videogenHost.result(r)", result)
        return result

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        await self.page.screenshot(path=str(path))
        assert path.stat().st_size > 1000
        return path


@asynccontextmanager
async def hosted(server: Any, script: str, profile: Path) -> AsyncIterator[Host]:
    from playwright.async_api import async_playwright

    ui = advertise(apps.EXTENSION_ID, {"mimeTypes": [apps.APP_MIME_TYPE]})
    async with (Client(server, extensions=[ui], client_info=Implementation(name="browser-host", version="1")) as c,
                async_playwright() as pw):
        browser = await pw.chromium.launch_persistent_context(  # a fresh profile: --user-data-dir
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True, viewport={"width": 600, "height": 560})
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            host = Host(page, c)
            page.on("console", lambda m: m.type == "error" and host.problems.append(m.text))
            page.on("pageerror", lambda e: host.problems.append(str(e)))
            await page.expose_function("mcpCall", host.mcp_call)
            await page.route("**/*", lambda route: host.route(route, script))
            await page.goto(ORIGIN)
            yield host
        finally:
            await browser.close()


async def text(frame: Any, selector: str) -> str:
    return await frame.locator(selector).text_content() or ""


async def playing(frame: Any) -> dict[str, Any]:
    """Waits until the <video> plays: not paused, its clock moving."""
    script = ("v => ({paused: v.paused, time: v.currentTime, duration: v.duration, error: v.error && v.error.code,"
              " src: v.currentSrc.slice(0, 22), audio: v.webkitAudioDecodedByteCount > 0})")
    state: dict[str, Any] = {}
    with anyio.fail_after(15):
        while not (state.get("time", 0) > 0.2 and not state["paused"]):
            state = await frame.locator("video").evaluate(script)
            assert state["error"] is None, f"the video failed: {state}"
            await anyio.sleep(0.1)
    return state


def mp4_duration(path: Path) -> float:
    """The file's own duration, from its movie header (ISO BMFF `mvhd`): not the server's media facts."""
    data = path.read_bytes()
    at = data.index(b"mvhd") + 4
    if data[at] == 1:  # version 1: 64-bit times
        scale, duration = struct.unpack(">IQ", data[at + 20:at + 32])
    else:
        scale, duration = struct.unpack(">II", data[at + 12:at + 20])
    return duration / scale


async def test_the_view_plays_the_finished_video_inside_the_official_host_bridge(server, host_script, tmp_path):
    async with hosted(server, host_script, tmp_path / "profile") as host:
        view = await host.open("generate_video", theme="dark")
        args = {"model": "sandbox/veo-sim", "prompt": "a lighthouse at dusk, waves rolling in", "duration": 4,
                "aspect_ratio": "16:9", "audio": True, "wait_seconds": 30}
        result = await host.call("generate_video", args)
        task = result["structuredContent"]
        assert task["status"] == "succeeded" and task["local_path"]

        await view.locator("#play").wait_for(state="visible", timeout=10_000)
        assert any(block["type"] == "image" for block in result["content"])  # the poster, shown before play
        assert await view.locator("#poster").evaluate("i => i.complete && i.naturalWidth > 0")
        assert "4.0 s" in await text(view, "#facts") and "with sound" in await text(view, "#facts")
        await view.locator("#play").click()
        state = await playing(view)
        shot = await host.screenshot("player-playing.png")

        assert state["src"] == "data:video/mp4;base64,"  # under the spec's default CSP, blob: would be blocked
        assert state["audio"], "the sound track decodes too"
        # the length asked for, which the sandbox renders, as the file's own header and the task's media say
        assert abs(state["duration"] - args["duration"]) < 0.1, state
        assert abs(state["duration"] - mp4_duration(Path(task["local_path"]))) < 0.05, state
        assert abs(state["duration"] - task["media"]["duration_s"]) < 0.05, (state, task["media"])
        assert await view.evaluate("() => document.documentElement.dataset.theme") == "dark"
        await host.page.evaluate("() => videogenHost.setTheme('light')")
        with anyio.fail_after(5):
            while await view.evaluate("() => document.documentElement.dataset.theme") != "light":
                await anyio.sleep(0.05)
        assert "sandbox" in await text(view, "#badge") and args["prompt"] in await text(view, "#prompt")
        assert ("resources/read", f"videogen://videos/{task['task_id']}") in host.asked
        assert not [a for a in host.asked if a[0] == "tools/call"], "a finished task needs no follow-up"

        again = await host.open("get_video_task", theme="dark")  # the agent looks the task up later
        await host.call("get_video_task", {"task_id": task["task_id"]})
        await again.locator("#play").wait_for(state="visible", timeout=10_000)
        assert host.problems == [], host.problems
    print(f"screenshot: {shot}")


async def test_the_view_shows_progress_then_follows_the_job_to_the_end(tmp_path, host_script):
    server = build_server(make_settings(tmp_path, VIDEOGEN_SANDBOX_SECONDS=3.0), download_default=True)
    ink = "rgb(12, 34, 56)"
    async with hosted(server, host_script, tmp_path / "profile") as host:
        view = await host.open("generate_video", theme="light", variables={"--color-text-primary": ink})
        result = await host.call("generate_video", {"model": MODEL, "prompt": "slow boat", "duration": 5,
                                                    "aspect_ratio": "9:16", "wait_seconds": 0})
        assert result["structuredContent"]["status"] != "succeeded"

        await view.locator("#bar").wait_for(state="visible", timeout=5_000)
        status = await text(view, "#status")
        assert any(word in status for word in ("Generating", "Queued", "Submitting")), status
        await host.screenshot("player-running.png")
        await view.locator("#play").wait_for(state="visible", timeout=30_000)  # the view asked get_video_task
        assert ("tools/call", "get_video_task") in host.asked
        assert await view.locator("#bar").is_hidden()

        await view.locator("#play").click()
        await playing(view)
        size = await view.locator("video").evaluate("v => [v.videoWidth, v.videoHeight, v.clientWidth, v.clientHeight]")
        assert size[0] < size[1] and size[2] < size[3], size  # the portrait clip, in a portrait frame
        assert await view.evaluate("() => document.documentElement.dataset.theme") == "light"
        assert await view.evaluate("() => getComputedStyle(document.body).color") == ink  # the host's variable
        assert host.problems == [], host.problems


async def test_above_the_inline_cap_the_view_says_where_the_video_is_and_reads_nothing(server, host_script, tmp_path):
    def pretend_80_mb(result: dict[str, Any]) -> None:  # the sandbox's clips are small; the view goes by media
        result["structuredContent"]["media"]["bytes"] = 80 * 1024 * 1024
        result["content"] = [b for b in result["content"] if b["type"] != "image"]  # and a host that drops images

    async with hosted(server, host_script, tmp_path / "profile") as host:
        view = await host.open("generate_video", theme="dark")
        result = await host.call("generate_video", {"model": MODEL, "prompt": "a very long take", "wait_seconds": 30},
                                 edit=pretend_80_mb)
        task = result["structuredContent"]
        await view.locator("#note").wait_for(state="visible", timeout=10_000)
        note = await text(view, "#note")
        assert "80.0 MB" in note and "32.0 MB" in note and task["local_path"] in note, note
        assert await view.locator("#play").is_hidden()
        await view.locator("#poster").wait_for(state="visible", timeout=5_000)  # read through the host instead
        assert ("resources/read", f"videogen://posters/{task['task_id']}") in host.asked
        await view.locator("#open").click()  # asks the host to open the gateway's link (ui/open-link)
        with anyio.fail_after(5):
            while not await host.page.evaluate("() => videogenHost.opened.length"):
                await anyio.sleep(0.05)
        assert await host.page.evaluate("() => videogenHost.opened") == [task["video_url"]]
        await host.screenshot("player-over-cap.png")
        assert not [a for a in host.asked if a[1].startswith("videogen://videos/")], host.asked
        assert host.problems == [], host.problems


async def test_a_failed_job_and_a_refused_call_read_as_such(server, host_script, tmp_path):
    async with hosted(server, host_script, tmp_path / "profile") as host:
        view = await host.open("generate_video", theme="dark")
        task = (await host.call("generate_video", {"model": MODEL, "prompt": "please [fail]", "wait_seconds": 30}))
        assert task["structuredContent"]["status"] == "failed"
        await view.locator("#note.error").wait_for(state="visible", timeout=10_000)
        assert task["structuredContent"]["error"]["message"] in await text(view, "#note")
        assert await view.locator("#stage").is_hidden() and await view.locator("#bar").is_hidden()

        view = await host.open("generate_video", theme="dark")  # a second call, a second view
        refused = await host.call("generate_video", {"model": MODEL, "prompt": "x", "duration": 7})
        assert refused["isError"]
        await view.locator("#note.error").wait_for(state="visible", timeout=10_000)
        assert "5 or 10" in await text(view, "#note")  # the refusal's own words, which name what is allowed
        await host.screenshot("player-failures.png")
        assert host.asked == [] and host.problems == [], (host.asked, host.problems)
