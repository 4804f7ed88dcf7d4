"""Thin tool handlers: validate arguments, resolve the model, hand the job to the engine, wait with progress."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, cast

import anyio
import mcp_types as t
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from providers.base import MediaRef, VideoRequest
from providers.errors import ProviderError
from providers.validate import choices
from server.engine import routing
from server.engine.budget import Limits
from server.media import images
from server.media import download as media
from server.surface import canonical, preview, tasks_ext
from server.surface.principal import principal_of
from server.surface.progress import Progress
from server.surface.render import error_result, served_video_url, task_result
from server.surface.schemas import MAX_WAIT, model_public
from server.tasks import AdoptError, Task, TaskNotFound

if TYPE_CHECKING:
    from providers.prices import Estimate
    from server.runtime import Runtime

log = logging.getLogger("videogen")


class ForgivingArgs(BaseModel):
    """Strict-mode callers send every property: `null` (and an empty string or list) means "not given"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_unset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if k in REQUIRED or (v is not None and v not in ("", []))}


REQUIRED = ("model", "task_id")  # kept even when empty, so the refusal names them


class GenerateArgs(ForgivingArgs):
    model: str = Field(min_length=1)
    prompt: str | None = Field(None, max_length=10000)
    duration: int | None = None  # checked against the model's own durations, which the refusal names
    aspect_ratio: str | None = None
    resolution: str | None = None
    negative_prompt: str | None = Field(None, max_length=10000)
    first_frame_image: str | None = None
    last_frame_image: str | None = None
    reference_images: list[str] = Field(default_factory=list, max_length=20)
    reference_videos: list[str] = Field(default_factory=list, max_length=10)
    audio: bool | None = None
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    wait_seconds: float | None = Field(None, ge=0, le=MAX_WAIT)
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)
    download: bool | None = None
    max_cost_usd: float | None = Field(None, ge=0)
    dry_run: bool | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _options_json(cls, value: Any) -> Any:
        if isinstance(value, str):  # the schema's form: a JSON string of an object
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('options must be a JSON object, e.g. {"mode": "pro"}') from None
        if not isinstance(value, dict):
            raise ValueError('options must be a JSON object, e.g. {"mode": "pro"}')
        return value


class GetArgs(ForgivingArgs):
    task_id: str | None = Field(None, min_length=1, max_length=100)
    wait_seconds: float = Field(0, ge=0, le=MAX_WAIT)
    provider: str | None = None
    upstream_task_id: str | None = Field(None, min_length=1, max_length=200)
    contact_sheet: bool = False


class ListArgs(ForgivingArgs):
    provider: str | None = None


class ToolInputError(Exception):
    """Bad arguments: becomes an isError result with this message."""


def parse(model: type[BaseModel], arguments: dict[str, Any]) -> Any:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown argument {where!r} (arguments: {', '.join(model.model_fields)})")
            elif err["type"] == "missing":
                problems.append(f"{where} is required")
            else:
                problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ToolInputError("Invalid arguments: " + "; ".join(problems) + ".") from None


def resolve_model(rt: Runtime, asked: str) -> routing.Resolved:
    """The one lookup of the model id: a canonical id (every configured gateway selling it) or '<provider>/<model>'
    (that gateway only). Unknown ids are refused naming the valid ones."""
    try:
        return routing.resolve(rt.providers, asked)
    except routing.RouteError as exc:
        raise ToolInputError(str(exc)) from None


async def plan(rt: Runtime, args: GenerateArgs) -> tuple[routing.Route, VideoRequest]:
    """The route and the normalized request of a generate call, validated against every gateway on the route;
    refused (nothing sent) when no gateway can take it as asked."""
    resolved = resolve_model(rt, args.model)
    info = resolved.options[0].info if resolved.pinned else None
    if args.duration is not None and info is not None and info.durations and args.duration not in info.durations:
        raise ToolInputError(f"{args.model} takes duration {choices(info.durations, unit='s')} (got "
                             f"{args.duration}). Nothing was sent; no cost.")
    try:
        request = build_request(rt, args, resolved.name)
    except (ProviderError, media.MediaError) as exc:
        raise ToolInputError(f"{exc} Nothing was sent; no cost.") from None
    from providers.prices import estimate
    from server.surface.cost import hint

    def priced(candidate: routing.Candidate, request: VideoRequest) -> Estimate:  # with the gateway's own figure
        return estimate(candidate.model_id, candidate.request(request),
                        hint=hint(rt, candidate.provider, candidate.info.name))

    engine = await rt.engine()
    if len(resolved.options) > 1:  # the order depends on what every process sharing the ledger saw lately
        await engine.health.refresh(engine.ledger)
    try:
        route = routing.choose(resolved, request, policy=rt.settings.routing_policy, health=engine.health,
                               estimator=priced)
    except routing.RouteError as exc:
        raise ToolInputError(f"{exc} Nothing was sent; no cost.") from None
    return route, request


def media_ref(rt: Runtime, value: str, what: str) -> MediaRef:
    value = value.strip()
    lowered = value.lower()
    if lowered.startswith(("http://", "https://", "data:")):
        return MediaRef(url=value)
    if images.is_local_path(value):
        return images.load_local_image(value, allowed_dirs=rt.settings.allowed_input_dirs)
    raise ToolInputError(f"{what} must be an http(s) URL, a data: URI or a local file path (got {value[:80]!r}).")


def build_request(rt: Runtime, args: GenerateArgs, name: str) -> VideoRequest:
    def image(value: str | None, what: str) -> MediaRef | None:
        return media_ref(rt, value, what) if value else None

    videos = []
    for url in args.reference_videos:
        if not url.strip().lower().startswith(("http://", "https://")):
            raise ToolInputError(f"reference_videos takes http(s) URLs only (got {url[:80]!r}).")
        videos.append(MediaRef(url=url.strip()))
    return VideoRequest(
        model=name,
        prompt=args.prompt or None,
        negative_prompt=args.negative_prompt or None,
        duration=args.duration,
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        first_frame=image(args.first_frame_image, "first_frame_image"),
        last_frame=image(args.last_frame_image, "last_frame_image"),
        reference_images=tuple(media_ref(rt, v, "reference_images") for v in args.reference_images),
        reference_videos=tuple(videos),
        audio=args.audio,
        seed=args.seed,
        options=args.options,
    )


def sends_progress(ctx: ServerRequestContext) -> bool:
    """Whether the client asked for progress (a token in `_meta`), i.e. whether its idle timer can be fed."""
    return bool(ctx.meta and ctx.meta.get("progress_token") is not None)


def fitting_wait(ctx: ServerRequestContext, rt: Runtime, asked: float | None) -> float:
    """The wait this call may take. The agent frameworks built on the Python SDK give up early when they hear
    nothing (the OpenAI Agents SDK after 5 s): without a progress token their default wait is short, so a task
    handle comes back in time. Named clients keep the configured default (Claude Desktop, which sends no token,
    cancels at ~60 s, above the default 40 s). An explicit wait_seconds is honoured (the schema caps it)."""
    if asked is not None:
        return asked
    if sends_progress(ctx) or not python_sdk_client(ctx):
        return rt.settings.default_wait
    return min(rt.settings.default_wait, SILENT_WAIT)


def client_name(ctx: ServerRequestContext) -> str | None:
    params = ctx.session.client_params
    return params.client_info.name if params is not None and params.client_info is not None else None


def python_sdk_client(ctx: ServerRequestContext) -> bool:
    """A client that kept the Python SDK's default name: the agent frameworks (Agents SDK, LangChain adapters,
    Pydantic AI) and scripts; anonymous clients count too."""
    return client_name(ctx) in (None, PYTHON_SDK_CLIENT_NAME)


def uses_links(ctx: ServerRequestContext) -> bool:
    """Whether to add `resource_link` blocks. The agent frameworks mishandle them (see render.task_result);
    named clients (Claude, Cursor, the Inspector) show them. The text always carries the same link, so guessing
    wrong costs a block, never the video."""
    return not python_sdk_client(ctx)


def served_url(ctx: ServerRequestContext, rt: Runtime, task: Task) -> str | None:
    """Over HTTP, the saved video's link on this server's own origin (VIDEOGEN_PUBLIC_URL, else the origin the
    client reached us at: ctx.request is the Starlette request there, None on stdio and in-process)."""
    request_base = getattr(ctx.request, "base_url", None)
    if request_base is None:
        return None
    return served_video_url(rt.settings.public_url or str(request_base), task)


PYTHON_SDK_CLIENT_NAME = "mcp"
SILENT_WAIT = 3.0  # seconds; under the Agents SDK's 5 s default read timeout, with room for the round trip


async def wait_with_progress(ctx: ServerRequestContext, rt: Runtime, task_id: str, deadline: float) -> Task:
    """Wait on the engine until the task ends or the deadline passes, streaming progress to the client."""
    engine = await rt.engine()
    timeout = max(0.0, deadline - time.monotonic())
    mine = principal_of(ctx.request)
    first = await engine.wait(task_id, 0, principal=mine)  # one ledger read; TaskNotFound here, not in the group
    if timeout == 0:
        return first
    progress = Progress(ctx.session.report_progress)
    async with anyio.create_task_group() as tg:
        tg.start_soon(progress.heartbeat)
        task = await engine.wait(task_id, timeout, progress.update, principal=mine)  # current state first
        tg.cancel_scope.cancel()
    return task


async def generate_video(
    ctx: ServerRequestContext, rt: Runtime, arguments: dict[str, Any]
) -> t.CallToolResult | t.InputRequiredResult | dict[str, Any]:
    started = time.monotonic()
    args: GenerateArgs = parse(GenerateArgs, arguments)
    route, request = await plan(rt, args)
    from server.ledger.store import BudgetExceeded
    from server.surface import cost  # prices, caps and approval load on the first job, off the start path

    limits = Limits.from_settings(rt.settings, args.max_cost_usd)
    try:  # the cap and the unpriced rule apply to each gateway the job may go to
        route = routing.within_limits(route, limits)
    except routing.RouteError as exc:
        if not args.dry_run:  # a dry run answers with what would happen: refused, and why (cost.check below)
            raise ToolInputError(str(exc)) from None
    first = route.candidates[0]
    cleared = await cost.check(ctx, rt, first.provider, first.request(request), max_cost_usd=args.max_cost_usd,
                               dry_run=bool(args.dry_run))
    if not isinstance(cleared, cost.Cleared):
        if args.dry_run and isinstance(cleared, t.CallToolResult):  # say where a routed job would go
            routed_dry_run(cleared, route)
        return cleared  # a dry run, a refusal, or the question to the user
    started = max(started, time.monotonic() - 1.0)  # the time a person took to approve is not the job's wait
    wait = fitting_wait(ctx, rt, args.wait_seconds)
    download = rt.download_default if args.download is None else args.download
    engine = await rt.engine()
    try:
        started_task = await engine.start(route, request, idempotency_key=args.idempotency_key, download=download,
                                          cost=cleared.cost, budget=cleared.budget,
                                          principal=principal_of(ctx.request))
    except BudgetExceeded as exc:
        assert cleared.budget is not None
        return cost.over_budget(cleared.estimate, cleared.budget, exc.spent, time.time())
    if tasks_ext.client_wants_tasks(ctx):  # the client polls tasks/get itself: hand back the durable handle now
        return tasks_ext.created(rt, started_task.task)
    task = await wait_with_progress(ctx, rt, started_task.task.task_id, started + wait)
    images = await preview.images(rt, task, with_poster=uses_links(ctx), sheet=False)
    est = cleared.estimate
    if started_task.reused:
        note = started_task.reason
    elif task.sandbox:  # the text already says "[sandbox: simulated, free]"
        note = ""
    else:
        note = f"Estimated cost: ${est.usd:.2f} ({est.basis})." if est.usd is not None else f"Cost: {est.basis}."
    return task_result(task, note=note, links=uses_links(ctx), wait_hint=fitting_wait(ctx, rt, None),
                       served_url=served_url(ctx, rt, task), images=images)


def routed_dry_run(result: t.CallToolResult, route: routing.Route) -> None:
    """Add the route to a dry run of a canonical id: the gateway it would go to first, why, and the fallbacks."""
    record = route.record(route.candidates[0])
    if record is None or not isinstance(result.structured_content, dict):
        return
    result.structured_content["route"] = record
    rest = [c.gateway for c in route.candidates[1:]]
    then = f"; if it refused before creating anything, then {', '.join(rest)}" if rest else ""
    text = f" It would go to {route.candidates[0].gateway} ({route.why}){then}."
    if result.content and isinstance(result.content[0], t.TextContent):
        result.content[0] = t.TextContent(text=result.content[0].text + text)


async def get_video_task(ctx: ServerRequestContext, rt: Runtime, arguments: dict[str, Any]) -> t.CallToolResult:
    started = time.monotonic()
    args: GetArgs = parse(GetArgs, arguments)
    task_id = await adopt(rt, args, principal_of(ctx.request)) if args.upstream_task_id else args.task_id
    if task_id is None:
        raise ToolInputError("Pass task_id, or provider and upstream_task_id to adopt a gateway's job by its id.")
    try:
        task = await wait_with_progress(ctx, rt, task_id, started + args.wait_seconds)
    except TaskNotFound:
        mine = await (await rt.engine()).list(5, principal=principal_of(ctx.request))  # never another's ids
        recent = ", ".join(x.task_id for x in mine) or "none yet"
        raise ToolInputError(
            f"Task {task_id!r} not found on this server. Recent task ids: {recent}."
        ) from None
    # The poster goes where links go (the agent frameworks pass images on to models that refuse them in a tool
    # result, e.g. Chat Completions); a contact sheet is sent whenever it is asked for.
    images = await preview.images(rt, task, with_poster=uses_links(ctx), sheet=args.contact_sheet)
    return task_result(task, links=uses_links(ctx), wait_hint=fitting_wait(ctx, rt, None),
                       served_url=served_url(ctx, rt, task), images=images)


async def adopt(rt: Runtime, args: GetArgs, principal: str) -> str:
    """Follow the gateway's job `upstream_task_id` (attached to `task_id` when given); the task id that follows it."""
    provider = rt.providers.get(args.provider or "")
    if provider is None:
        raise ToolInputError(f"upstream_task_id needs provider, one of: {', '.join(rt.providers) or 'none'}.")
    try:
        task = await (await rt.engine()).adopt(provider, args.upstream_task_id or "", task_id=args.task_id,
                                               download=rt.download_default, principal=principal)
    except AdoptError as exc:
        raise ToolInputError(str(exc)) from None
    except ProviderError as exc:
        raise ToolInputError(f"{exc} Nothing was recorded.") from None
    return task.task_id


async def list_video_models(ctx: ServerRequestContext, rt: Runtime, arguments: dict[str, Any]) -> t.CallToolResult:
    args: ListArgs = parse(ListArgs, arguments)
    if args.provider is not None and args.provider not in rt.providers:
        raise ToolInputError(f"Unknown provider {args.provider!r}; active: {', '.join(rt.providers) or 'none'}.")
    chosen = [rt.providers[args.provider]] if args.provider else list(rt.providers.values())
    models: list[dict[str, Any]] = []
    from server.surface import cost

    for provider in chosen:  # the gateway's own price figures are read beside its model list, never waited long for
        async with anyio.create_task_group() as tg:
            tg.start_soon(rt.discover, provider)
            with anyio.move_on_after(cost.HINT_WAIT):
                await cost.refresh_hints(rt, provider)
        for info in provider.models():
            entry = model_public(provider, info)
            if found := cost.hint(rt, provider, info.name):
                entry["gateway_price"] = found.public()
            models.append(entry)
    listed = canonical.family_entries({p.id: p for p in chosen}, models, rt.settings.routing_policy)
    lines = []
    if listed:  # canonical ids first: what most calls should pass (VIDEOGEN_ROUTING picks the gateway)
        lines.append(f"{len(listed)} canonical model ids (generate_video picks among their gateways; pass a "
                     "gateway id below to pin one):")
        lines += [canonical.family_line(entry) for entry in listed]
    lines.append(f"{len(models)} models from {', '.join(p.id for p in chosen) or 'no provider'}:")
    for m in models:
        durs = "/".join(str(d) for d in m["durations"]) or "any"
        lines.append(f"- {m['id']}: {durs} s, {', '.join(m['resolutions']) or 'default res'}"
                     + (", audio" if m["audio"] else "") + (" (sandbox)" if m["sandbox"] else "")
                     + (f", ${per_s:g}/s" if (per_s := m.get("price", {}).get("usd_per_second")) else ""))
    text = "\n".join(lines)
    if not rt.providers:
        text += ("\nNo gateway is configured: set one of the *_API_KEY variables (see the README), or "
                 "VIDEOGEN_SANDBOX=1.")
    return t.CallToolResult(content=[t.TextContent(text=text)],
                            structured_content={"models": models, "families": listed})


HANDLERS = {
    "generate_video": generate_video,
    "get_video_task": get_video_task,
    "list_video_models": list_video_models,
}


async def call_tool(ctx: ServerRequestContext, params: t.CallToolRequestParams
                    ) -> t.CallToolResult | t.InputRequiredResult | dict[str, Any]:
    handler = HANDLERS.get(params.name)
    if handler is None:
        raise MCPError(code=t.INVALID_PARAMS, message=f"Unknown tool: {params.name}. Tools: {', '.join(HANDLERS)}")
    rt = cast("Runtime", ctx.lifespan_context)  # what app.py's lifespan yields
    try:
        return await handler(ctx, rt, dict(params.arguments or {}))
    except ToolInputError as exc:
        return error_result(str(exc))
    except media.MediaError as exc:
        return error_result(f"{exc} Nothing was sent; no cost.")
    except Exception as exc:  # a bug of ours: say so plainly, keep details (never keys) on stderr
        from server.ledger.store import LedgerError  # (loaded by now; imported here to keep this module light)

        if isinstance(exc, LedgerError):  # e.g. a damaged ledger file: the message names it and what to do
            log.error("tool %s failed: %s", params.name, exc)
            return error_result(str(exc))
        log.exception("tool %s failed", params.name)
        return error_result(f"videogen-mcp hit an internal error in {params.name}; details are in its log (stderr).")
