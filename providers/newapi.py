"""What the adapters share: CatalogProvider (catalog, validation, submit; apimodels uses it too) and NewApiProvider,
the base of the four new-api forks (OrcaRouter, OmniRouters, OctopusX, InfinityBlue): poll views with fallback, the
content proxy and /v1/models discovery. Subclasses (one file per gateway) add a request builder that places the
vendor formats of providers/wire/ where the gateway reads them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2
from pydantic import SecretStr

from providers import catalogs
from providers.base import Capabilities, ModelInfo, TaskSnapshot, TaskStatus, VideoRequest
from providers.errors import NEWAPI_CODES, BadResponse, ProviderError, Rule
from providers.http import GatewayHTTP
from providers.parse import NO_REASON, parse_task
from providers.wire import drop_none
from providers.validate import ALL_FIELDS, refuse_unmapped, require_inline, unknown_model, validate

__all__ = ["CatalogProvider", "NewApiProvider", "drop_none", "is_video_model", "parse_task"]

SHAPE_A = "/v1/video/generations/{id}"  # wrapped TaskDto, UPPERCASE statuses [providers.md §1]
SHAPE_B = "/v1/videos/{id}"  # OpenAI video object, metadata.url
# A poll route that answers these has no converter for this channel (501) or does not exist on this fork.
_FALLBACK_STATUSES = (404, 405, 501)

# Permissive capabilities for a model found in GET /v1/models with no catalog entry (subclasses narrow them).
DISCOVERED: dict[str, Any] = dict(
    first_frame=True, last_frame=True, max_reference_images=9, max_reference_videos=3, audio=True,
    negative_prompt=True, seed=True, prompt_required=False, discovered=True,
    note="Found in the gateway's model list but not in our catalog: options are passed through unchecked.",
)


def is_video_model(entry: Any) -> bool:
    """A /v1/models row for a video model: endpoint type `openai-video` [C] or output modality video [I]."""
    if not isinstance(entry, dict):
        return False
    endpoints = entry.get("supported_endpoint_types")
    if isinstance(endpoints, list) and "openai-video" in endpoints:
        return True
    architecture = entry.get("architecture")
    outputs = architecture.get("output_modalities") if isinstance(architecture, dict) else None
    return isinstance(outputs, list) and "video" in outputs


class CatalogProvider:
    """What every adapter shares: the catalog (+ discovered models), validation, and the submit pipeline.

    Subclasses set the ClassVars and implement `build_body`; `submit`, `get`, `content_request` and `discover`
    belong to the wire protocol (NewApiProvider below, or apimodels' own). `capabilities` declares the optional
    parts; each instance adds its own gateway's host to the trusted ones (its result and content URLs).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    env: ClassVar[str]  # the API-key variable, named in auth errors
    sandbox: ClassVar[bool] = False
    catalog: ClassVar[str]  # providers/catalogs/<catalog>.json
    submit_path: ClassVar[str] = "/v1/video/generations"
    # family -> the request fields its body builder maps ("*" = any other family). Checked for every model, so a
    # discovered model with permissive ModelInfo still cannot have a field silently dropped.
    family_fields: ClassVar[dict[str, frozenset[str]]] = {}
    error_codes: ClassVar[dict[str, Rule]] = NEWAPI_CODES  # the protocol's table: gateway error code -> meaning
    # No gateway researched lists tasks to the API key: new-api's GET /api/task/self takes the dashboard login
    # (session or personal access token), not the sk- key (router/api-router.go, middleware/auth.go) [C].
    task_listing: ClassVar[bool] = False
    capabilities: Capabilities = Capabilities()

    def __init__(
        self, client: httpx2.AsyncClient, *, base_url: str, api_key: SecretStr | None = None, **options: Any
    ) -> None:
        self.http = GatewayHTTP(client, provider=self.title, base_url=base_url, api_key=api_key, env=self.env,
                                codes=self.error_codes)
        self.options = options
        self._catalog = {m.name: m for m in catalogs.load(self.catalog)}
        self._discovered: dict[str, ModelInfo] = {}
        if host := urlsplit(self.http.base_url).hostname:
            declared = type(self).capabilities
            self.capabilities = replace(declared, trusted_hosts=declared.trusted_hosts | {host.lower()})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.http.base_url!r})"

    def models(self) -> list[ModelInfo]:
        return [*self._catalog.values(), *self._discovered.values()]

    def model(self, name: str) -> ModelInfo | None:
        found = self._catalog.get(name) or self._discovered.get(name)
        if found is None:  # gateways disagree on case (Kling-3.0-Omni vs Kling-3.0-omni)
            lowered = name.lower()
            found = next((m for m in self.models() if m.name.lower() == lowered), None)
        return found

    def validate(self, request: VideoRequest, info: ModelInfo | None = None) -> ModelInfo:
        info = info or self.model(request.model)
        if info is None:
            raise unknown_model(request.model, self.title, self.models())
        validate(request, info, provider=self.title, siblings=self.models())
        mapped = self.family_fields.get(info.family, self.family_fields.get("*", ALL_FIELDS))
        refuse_unmapped(request, info, mapped, provider=self.title, siblings=self.models())
        self.check(request, info)
        return info

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        """Gateway-specific refusals beyond the generic table (override; raise InvalidRequest)."""

    def build_submit(self, request: VideoRequest, info: ModelInfo | None = None) -> tuple[str, dict[str, Any]]:
        info = self.validate(request, info)
        require_inline(request, info, provider=self.title)
        return self.submit_route(info), self.build_body(request, info)

    def submit_route(self, info: ModelInfo) -> str:
        return self.submit_path

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        raise NotImplementedError

    def submit_headers(self) -> dict[str, str]:
        return {}

    async def submit(self, request: VideoRequest, *, idempotency_key: str | None = None,
                     info: ModelInfo | None = None) -> TaskSnapshot:
        path, body = self.build_submit(request, info)
        headers = self.submit_headers()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key  # gateways ignore it; harmless, and the sandbox honours it
        return self.accepted(await self.http.post_json(path, body, headers=headers, model=request.model))

    def accepted(self, data: Any) -> TaskSnapshot:
        """The snapshot of a submit answer; it must carry a task id."""
        snapshot = parse_task(data)
        if not snapshot.upstream_id:
            raise BadResponse(
                f"{self.title} accepted the request but returned no task id, so the job cannot be followed; "
                "check the gateway's dashboard before submitting again (it may have been charged).",
                provider=self.title,
            )
        if snapshot.status is TaskStatus.UNKNOWN and snapshot.error_code == "unknown_status":
            # A bare {"task_id": ...} (OctopusX Seedance) is an accepted job, not an unknown state.
            snapshot = snapshot.model_copy(
                update={"status": TaskStatus.QUEUED, "error_code": None, "error_message": None}
            )
        return snapshot

    async def list_tasks(self, since: datetime) -> list[TaskSnapshot]:
        return []  # never called: task_listing is False

    async def find(self, idempotency_key: str) -> TaskSnapshot | None:
        return None  # never called: capabilities.find is False

    def content_request(self, upstream_id: str) -> tuple[str, dict[str, str]] | None:
        return None  # never called: capabilities.content_proxy is False


class NewApiProvider(CatalogProvider):
    """Shared adapter for new-api forks: two task views with fallback, the content proxy, /v1/models discovery."""

    poll_routes: ClassVar[tuple[str, ...]] = (SHAPE_A, SHAPE_B)  # first is preferred, the rest are fallbacks
    capabilities = Capabilities(content_proxy=True)  # GET /v1/videos/{id}/content: new-api's router [C]
    discovered_fields: ClassVar[dict[str, Any]] = {}  # narrows DISCOVERED for this gateway's body

    def __init__(
        self, client: httpx2.AsyncClient, *, base_url: str, api_key: SecretStr | None = None, **options: Any
    ) -> None:
        super().__init__(client, base_url=base_url, api_key=api_key, **options)
        self._routes = list(self.poll_routes)  # reordered when a route turns out not to exist on this fork

    # ---- polling ----------------------------------------------------------------------------------------------
    async def get(self, upstream_id: str) -> TaskSnapshot:
        """Poll the preferred view; fall back to the other on 404/405/501 or a body we cannot read."""
        first_error: ProviderError | None = None
        fallback: TaskSnapshot | None = None
        for route in self.routes_for(upstream_id):
            path = route.format(id=self.http.segment(upstream_id))
            try:
                _, data = await self.http.request("GET", path)
            except ProviderError as exc:
                if fallback is not None and fallback.status is TaskStatus.FAILED:
                    break  # only re-reading for a reason: the failure itself is known
                if exc.status not in _FALLBACK_STATUSES:
                    raise
                first_error = first_error or exc
                if exc.status != 404 and route in self._routes:  # 405/501 is the route itself: try it last
                    self._routes.remove(route)
                    self._routes.append(route)
                continue
            snapshot = parse_task(data)
            if snapshot.status is TaskStatus.FAILED and snapshot.error_message == NO_REASON:
                # ConvertToOpenAIVideo (Kling) sets `error` only when the vendor code != 0, so a failed task may
                # carry no reason on Shape B; the other view (Shape A's fail_reason) may have it [new-api].
                fallback = snapshot if fallback is None or fallback.status is TaskStatus.UNKNOWN else fallback
                continue
            if snapshot.status is not TaskStatus.UNKNOWN:
                return self._finish(snapshot, upstream_id)
            fallback = fallback or snapshot  # Shape B says "unknown" for NOT_START; Shape A may say more
        if fallback is not None:
            return self._finish(fallback, upstream_id)
        assert first_error is not None
        raise first_error

    def routes_for(self, upstream_id: str) -> list[str]:
        """Poll routes to try for this task, preferred first (override when the id tells the channel)."""
        return list(self._routes)

    def _finish(self, snapshot: TaskSnapshot, upstream_id: str) -> TaskSnapshot:
        if snapshot.upstream_id != upstream_id:
            snapshot = snapshot.model_copy(update={"upstream_id": upstream_id})
        return snapshot

    def content_request(self, upstream_id: str) -> tuple[str, dict[str, str]] | None:
        url = self.http.url(f"/v1/videos/{self.http.segment(upstream_id)}/content")
        return url, self.http.auth_headers()

    # ---- discovery --------------------------------------------------------------------------------------------
    async def discover(self) -> list[ModelInfo]:
        data = await self.http.get_json("/v1/models")
        rows = data.get("data") if isinstance(data, dict) else data
        found: list[ModelInfo] = []
        for row in rows if isinstance(rows, list) else []:
            name = row.get("id") if is_video_model(row) else None
            if not isinstance(name, str) or not name or self.model(name) is not None:
                continue
            info = ModelInfo(name=name, family=self.family_of(name), **{**DISCOVERED, **self.discovered_fields})
            self._discovered[name] = info
            found.append(info)
        return found

    def family_of(self, name: str) -> str:
        """The request-builder branch for a discovered model (override where names carry a family prefix)."""
        return ""
