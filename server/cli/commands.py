"""Person-facing commands: generate with a live progress bar, models, tasks, task, adopt, doctor."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
import httpx2
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from providers.base import TaskStatus
from providers.errors import ProviderError
from providers.registry import SPECS, GatewayConfig, ProviderSpec, build
from server.media import download as media
from server.media.probe import check as media_check
from server.media.probe import poster_path
from server.app import open_runtime
from server.cli import costs
from server.cli.costs import spend as spend
from server.cli.common import CommandError, dumps
from server.engine import routing
from server.engine.budget import Limits
from server.ledger.store import BudgetExceeded
from server.surface.progress import describe
from server.surface.render import media_text, task_text
from server.surface.schemas import model_public
from server.settings import Settings
from server.tasks import AdoptError, Task
from server.surface.tools import GenerateArgs, ToolInputError, plan

out = Console()
err = Console(stderr=True)


async def generate(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings, download_default=True) as rt:
        model = args.model
        if model is None:
            if "sandbox" not in rt.providers:
                raise CommandError("pass --model (see `videogen-mcp models`); the sandbox is off (VIDEOGEN_SANDBOX=0)")
            model = f"sandbox/{rt.providers['sandbox'].models()[0].name}"
            err.print(f"[dim]Using the free sandbox model {model}; pass --model for a real gateway.[/]")
        try:
            call = GenerateArgs(model=model, prompt=args.prompt, duration=args.duration, wait_seconds=None,
                                aspect_ratio=args.aspect_ratio, resolution=args.resolution,
                                first_frame_image=args.image, idempotency_key=args.idempotency_key,
                                last_frame_image=args.last_frame, reference_images=args.reference_image,
                                negative_prompt=args.negative_prompt, seed=args.seed, audio=args.audio,
                                max_cost_usd=args.max_cost, dry_run=args.dry_run)
            route, request = await plan(rt, call)
            route = routing.within_limits(route, Limits.from_settings(rt.settings, args.max_cost))
        except (routing.RouteError, ToolInputError, ProviderError, media.MediaError) as exc:
            raise CommandError(cli_text(str(exc))) from None
        first = route.candidates[0]
        if args.dry_run:
            if not route.pinned and not args.json:
                rest = ", ".join(c.gateway for c in route.candidates[1:])
                err.print(f"Route: {first.gateway} ({route.why})" + (f", then {rest}" if rest else ""), soft_wrap=True)
            return costs.dry_run(rt, first.provider, first.request(request), args.max_cost, args.json, cli_text)
        cleared = costs.clear(rt, first.provider, first.request(request), args.max_cost, cli_text)
        engine = await rt.engine()
        try:
            started = await engine.start(route, request, idempotency_key=call.idempotency_key, download=True,
                                         cost=cleared.cost, budget=cleared.budget)
        except BudgetExceeded as exc:
            raise costs.refused(cleared, exc.spent, cli_text) from None
        if started.reused:
            err.print(f"[yellow]{started.reason}[/]")
        task = started.task
        if args.no_wait:
            print(dumps(task.public()) if args.json else task.task_id)
            err.print(f"Follow it with: videogen-mcp task {task.task_id} --wait 600")
            return 0
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn())
        pace = Pace()
        with Progress(*columns, console=err, transient=False) as bar:
            row = bar.add_task(_stage(task), total=100)

            async def on_change(update: Task) -> None:
                if update.status is TaskStatus.SUCCEEDED:
                    pace.seen(100)
                elif update.status is TaskStatus.RUNNING and update.progress is not None:
                    pace.seen(update.progress)
                bar.update(row, completed=pace.estimate(), description=_stage(update))

            async def tick() -> None:
                while True:
                    await anyio.sleep(0.2)
                    bar.update(row, completed=pace.estimate())

            async with anyio.create_task_group() as tg:
                tg.start_soon(tick)
                task = await (await rt.engine()).wait(task.task_id, 3600, on_change)
                tg.cancel_scope.cancel()
        if task.status is not TaskStatus.SUCCEEDED:
            raise CommandError(cli_text(task_text(task, wait_hint=60), task.task_id))
        if args.json:
            print(dumps(task.public()))
            return 0
        out.print(f"Task: {task.task_id}", soft_wrap=True)
        if task.sandbox:  # its link only works inside this server; the file is what a person wants
            out.print("Done: a sandbox video (simulated, free).")
        else:
            out.print(cli_text(task_text(task, wait_hint=60), task.task_id), soft_wrap=True)
        if task.local_path:
            out.print(f"[green]Saved:[/] {task.local_path}", soft_wrap=True)
            poster = poster_path(Path(task.local_path))
            if poster.is_file():
                out.print(f"Poster: {poster}", soft_wrap=True)
        if task.media is not None:
            out.print(f"Video: {media_text(task.media)}", soft_wrap=True)
            if task.sandbox and task.warning:  # a real gateway's text above already has the note
                err.print(f"[yellow]{task.warning}[/]")
        return 0


async def models(settings: Settings, args: argparse.Namespace) -> int:
    if args.provider and args.provider not in SPECS:
        raise CommandError(f"no provider {args.provider!r}; known: {', '.join(SPECS)}")
    async with open_runtime(settings) as rt:
        wanted = [args.provider] if args.provider else list(SPECS) if args.all else list(rt.providers)
        rows = []
        for pid in wanted:
            active = pid in rt.providers
            # A catalog is data: an adapter built without a key lists it and is never asked to call anything.
            provider = rt.providers.get(pid) or build(pid, rt.client, GatewayConfig(SPECS[pid].default_base_url))
            note = None if active else _inactive_note(SPECS[pid])
            rows += [{**model_public(provider, m), "active": active, **({"note": note} if note else {})}
                     for m in provider.models()]
    if args.json:
        print(dumps({"models": rows}))
        return 0
    inactive = sorted({m["provider"]: m["note"] for m in rows if not m["active"]}.items())
    table = Table(title=f"{len(rows)} video models" + (" (inactive ones marked)" if inactive else ""))
    marked = ["active"] if inactive else []
    for col in ("id", "canonical id", "seconds", "resolutions", "aspect ratios", "inputs", "audio", "$/s", *marked):
        table.add_column(col)
    for m in rows:
        table.add_row(m["id"], m.get("canonical") or "", ",".join(map(str, m["durations"])) or "any",
                      ",".join(m["resolutions"]),
                      ",".join(m["aspect_ratios"]), ",".join(m["inputs"]), "yes" if m["audio"] else "",
                      _per_second(m.get("price")),
                      *("yes" if m["active"] else "no" for _ in marked))
    out.print(table)
    for pid, note in inactive:
        out.print(f"{pid}: inactive, {note}", soft_wrap=True)
    if not args.provider and not args.all:
        hidden = [pid for pid in SPECS if pid not in rt.providers and not SPECS[pid].keyless]
        if hidden:
            err.print(f"Not configured: {', '.join(hidden)}. Browse their catalogs with `videogen-mcp models --all`.")
    return 0


def _per_second(price: dict | None) -> str:
    if not price:
        return ""
    return f"{price['usd_per_second']:g}" if price.get("usd_per_second") is not None else "not in USD"


def _inactive_note(spec: ProviderSpec) -> str:
    return "off: VIDEOGEN_SANDBOX=0 hides it" if spec.keyless else f"no key: set {spec.env_prefix}_API_KEY to use"


class Pace:
    """The bar's position between readings. The engine polls just after the job's predicted end (few requests), so
    a sandbox job is read at ~25 % and then done: in between, the bar moves at the rate the readings so far imply,
    kept below what is known (never past CEILING before the gateway says so, never backwards)."""

    CEILING = 95.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._start, self._known, self._rate, self._shown = clock, clock(), 0.0, 0.0, 0.0

    def seen(self, progress: float) -> None:
        elapsed = self._clock() - self._start
        if 0 < progress < 100 and elapsed > 0:
            self._rate = progress / elapsed
        self._known = max(self._known, float(progress))

    def estimate(self) -> float:
        if self._known >= 100:
            return 100.0
        guess = min(self.CEILING, self._rate * (self._clock() - self._start))
        self._shown = max(self._shown, self._known, guess)
        return self._shown


# The shared texts speak to agents (tool names and arguments); a person at the CLI is told the command to run.
_TOOL_PHRASES = (
    (re.compile(r'([Cc])all get_video_task with task_id "([^"]+)" and wait_seconds=([\d.]+)'),
     lambda m, _: f"{_run(m)} `videogen-mcp task {m[2]} --wait {m[3]}`"),
    (re.compile(r'([Cc])all get_video_task with task_id "([^"]+)"'),
     lambda m, _: f"{_run(m)} `videogen-mcp task {m[2]}`"),
    (re.compile(r"([Cc])all get_video_task( again)?"),
     lambda m, tid: f"{_run(m)} `videogen-mcp task {tid}`{m[2] or ''}"),
    (re.compile(r"([Cc])all generate_video"), lambda m, _: f"{_run(m)} `videogen-mcp generate`"),
    (re.compile(r"([Cc])all list_video_models"), lambda m, _: f"{_run(m)} `videogen-mcp models`"),
)
_ARGUMENTS = {"first_frame_image": "--image", "last_frame_image": "--last-frame",
              "reference_images": "--reference-image", "negative_prompt": "--negative-prompt",
              "aspect_ratio": "--aspect-ratio", "idempotency_key": "--idempotency-key", "max_cost_usd": "--max-cost"}


def _run(match: re.Match[str]) -> str:
    return "Run" if match[1] == "C" else "run"


def _apply(replace: Callable[[re.Match[str], str], str], task_id: str, match: re.Match[str]) -> str:
    return replace(match, task_id)


def cli_text(text: str, task_id: str | None = None) -> str:
    """An agent-facing text as a person at the CLI needs it: commands to run instead of tools to call."""
    for pattern, replace in _TOOL_PHRASES:
        text = pattern.sub(partial(_apply, replace, task_id or "ID"), text)
    return re.sub(r"\b(" + "|".join(_ARGUMENTS) + r")\b", lambda m: _ARGUMENTS[m[1]], text)


def _stage(task: Task) -> str:
    """The bar's label: the stage only, since the bar's own column shows the percentage."""
    return "running" if task.status is TaskStatus.RUNNING else describe(task)


async def tasks(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings) as rt:
        recent = await (await rt.engine()).list(args.limit)
    if args.json:
        print(dumps({"tasks": [x.public() for x in recent]}))
        return 0
    table = Table(title=f"{len(recent)} recent tasks")
    for col in ("task_id", "model", "status", "progress", "cost", "created", "video"):
        table.add_column(col, no_wrap=col == "task_id", min_width=35 if col == "task_id" else None)
    for x in recent:
        table.add_row(x.task_id, x.model, x.status.value, "" if x.progress is None else f"{x.progress}%",
                      _cost(x), x.created_at.strftime("%Y-%m-%d %H:%M"), x.local_path or x.video_url or "")
    out.print(table)
    return 0


def _cost(task: Task) -> str:
    if task.cost is None:
        return ""
    return "?" if task.cost.estimate_usd is None else f"~${task.cost.estimate_usd:.2f}"


async def task(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings, download_default=True) as rt:
        found = await (await rt.engine()).get(args.task_id)
        if found is None:
            raise CommandError(f"no task {args.task_id!r} (see `videogen-mcp tasks`)")
        found = await (await rt.engine()).wait(found.task_id, args.wait)
    print(json.dumps(found.public(), indent=2))
    if not args.json:
        err.print(cli_text(task_text(found, wait_hint=60), found.task_id))
    return 0


async def adopt(settings: Settings, args: argparse.Namespace) -> int:
    """Follow a gateway job by the gateway's own id (a lost submit's, or one made elsewhere), and wait for it."""
    async with open_runtime(settings, download_default=True) as rt:
        provider = rt.providers.get(args.provider)
        if provider is None:
            raise CommandError(f"provider {args.provider!r} is not active; active: {', '.join(rt.providers)}")
        engine = await rt.engine()
        try:
            found = await engine.adopt(provider, args.upstream_id, task_id=args.task, download=True)
        except (AdoptError, ProviderError) as exc:
            raise CommandError(str(exc)) from None
        found = await engine.wait(found.task_id, args.wait)
    print(json.dumps(found.public(), indent=2))
    err.print(task_text(found))
    return 0


async def doctor(settings: Settings, args: argparse.Namespace) -> int:
    active = settings.gateways()
    rows: list[dict] = []
    async with httpx2.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        for pid, spec in SPECS.items():
            config = active.get(pid)
            if config is None:
                how = "hidden (VIDEOGEN_SANDBOX=0)" if spec.keyless else f"no ({spec.env_prefix}_API_KEY unset)"
                rows.append({"provider": pid, "configured": False, "detail": how, "base_url": None, "reachable": None})
                continue
            reach = "built in" if spec.keyless else await _probe(client, config.base_url)
            rows.append({"provider": pid, "configured": True, "detail": "yes", "base_url": config.base_url,
                         "reachable": not reach.startswith("no"), "reach": reach})
    from server.cli.http import describe_auth

    auth_ok, auth = await describe_auth(settings)
    from server.ledger.backend import describe_ledger

    ledger_ok, ledger = await describe_ledger(settings)
    problems = sum(r["reachable"] is False for r in rows) + (not auth_ok) + (not ledger_ok)
    home_ok = _writable(settings)
    media_ok, media_note = await anyio.to_thread.run_sync(media_check)
    keyed = any(not SPECS[p].keyless for p in active)
    if getattr(args, "json", False):
        listed = [{k: v for k, v in r.items() if k != "detail"} for r in rows]
        print(dumps({"ok": not problems and home_ok and media_ok, "providers": listed,
                     "home": str(settings.home), "home_writable": home_ok, "videos_dir": str(settings.videos_dir),
                     "default_wait": settings.default_wait, "gateway_key_set": keyed,
                     "http_auth": {"ok": auth_ok, "detail": auth}, "ledger": {"ok": ledger_ok, "detail": ledger},
                     "media": {"ok": media_ok, "detail": media_note}}))
        return 1 if problems or not home_ok or not media_ok else 0
    table = Table(title="videogen-mcp doctor")
    for col in ("provider", "configured", "base URL", "reachable"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["provider"], r["detail"], r["base_url"] or "", r.get("reach", ""))
    out.print(table)
    out.print(f"home: {settings.home} ({'writable' if home_ok else 'NOT writable'}); "
              f"videos: {settings.videos_dir}; default wait {settings.default_wait:g} s")
    out.print(f"serve --http: {auth}", markup=False)
    out.print(f"ledger: {ledger}", markup=False)
    out.print(f"media: {media_note}", soft_wrap=True)
    if not keyed:
        out.print("No gateway key is set: only the free sandbox is available. Set e.g. ORCAROUTER_API_KEY.")
    return 1 if problems or not home_ok or not media_ok else 0


async def _probe(client: httpx2.AsyncClient, base_url: str) -> str:
    try:
        response = await client.get(base_url + "/v1/models")
    except httpx2.HTTPError as exc:
        return f"no ({type(exc).__name__})"
    return f"yes (HTTP {response.status_code})"


def _writable(settings: Settings) -> bool:
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        probe = settings.home / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
        return True
    except OSError:
        return False

