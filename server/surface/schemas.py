"""The three tool definitions, with JSON Schemas built from the active providers' model catalogs.

Kept compact on purpose: agents pay for `tools/list` tokens on every turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as t

from providers import families
from providers.base import ModelInfo, Provider
from server.surface.apps import TOOL_META
from server.tasks import TASK_OUTPUT_SCHEMA

# seconds; a call may wait at most this long, whatever the agent asks. Under Pydantic AI's 300 s read timeout and
# the 5 min idle limits of Claude Code over HTTP, so an explicit wait never outlasts a common client.
MAX_WAIT = 240


# A task, or a dry run's {"dry_run": true, "model", "estimate", "request", ...} (interface.md, Cost).
GENERATE_OUTPUT_SCHEMA: dict[str, Any] = {
    **{k: v for k, v in TASK_OUTPUT_SCHEMA.items() if k != "required"},
    "anyOf": [{"required": TASK_OUTPUT_SCHEMA["required"]}, {"required": ["dry_run"]}],
}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional argument: `null` means "not given" (OpenAI strict mode sends every property, null when unused)."""
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def strict_object(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """Every optional property nullable, so a strict converter (which makes every property required) keeps the
    meaning: a strict caller sends null for what it does not use."""
    props = {k: v if k in required else nullable(v) for k, v in props.items()}
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def model_id(provider: Provider, info: ModelInfo) -> str:
    return f"{provider.id}/{info.name}"


def model_public(provider: Provider, info: ModelInfo) -> dict[str, Any]:
    """One entry of list_video_models (interface.md's ModelInfo, plus what an agent needs to get it right)."""
    out: dict[str, Any] = {
        "id": model_id(provider, info),
        "canonical": families.canonical_of(provider.id, info.name),
        "provider": provider.id,
        "name": info.name,
        "durations": list(info.durations),
        "resolutions": list(info.resolutions),
        "aspect_ratios": list(info.aspect_ratios),
        "inputs": info.inputs,
        "audio": info.audio,
        "sandbox": provider.sandbox,
    }
    if info.default_duration is not None:
        out["default_duration"] = info.default_duration
    from providers.prices import price_block  # (the price table loads on the first listing, off the start path)

    if price := price_block(out["id"]):
        out["price"] = price
    if info.image_input == "url" and (info.first_frame or info.last_frame or info.max_reference_images):
        out["image_urls_only"] = True
    out["negative_prompt"] = info.negative_prompt
    out["seed"] = info.seed
    if not info.prompt_required:
        out["prompt_required"] = False
    if info.url_lifetime is not None:
        out["url_lifetime_hours"] = round(info.url_lifetime.total_seconds() / 3600, 1)
    if info.discovered:
        out["discovered"] = True
    if info.note:
        out["note"] = info.note
    return out


def model_ids(providers: Mapping[str, Provider]) -> list[str]:
    """The model enum: each canonical id a configured gateway sells (routed by VIDEOGEN_ROUTING), then the gateway
    ids of models with none (the sandbox's). Any '<provider>/<model>' id is accepted too (it pins that gateway);
    listing those as well would double tools/list."""
    canonical = [f.id for f in families.table().values() if any(
        (name := f.model_on(pid)) and p.model(name) is not None for pid, p in providers.items())]
    unrouted = [model_id(p, m) for p in providers.values() for m in p.models()
                if families.canonical_of(p.id, m.name) is None]
    return canonical + unrouted


def _union(providers: Mapping[str, Provider], attr: str) -> list[Any]:
    return sorted({v for p in providers.values() for m in p.models() for v in getattr(m, attr)}, key=str)


def generate_video_input_schema(providers: Mapping[str, Provider], default_wait: float) -> dict[str, Any]:
    ids = model_ids(providers)
    durations = sorted({d for p in providers.values() for m in p.models() for d in m.durations})
    image = "URL, data: URI or local file"
    props: dict[str, Any] = {
        "model": {"type": "string", "enum": ids,
                  "description": "Canonical id (routed across gateways) or provider/model (pins one)"},
        "prompt": {"type": "string", "maxLength": 10000},
        "duration": {"type": "integer", "enum": durations, "description": "Seconds"},
        "aspect_ratio": {"type": "string", "enum": _union(providers, "aspect_ratios")},
        "resolution": {"type": "string", "enum": _union(providers, "resolutions")},
        "negative_prompt": {"type": "string"},
        "first_frame_image": {"type": "string", "description": image},
        "last_frame_image": {"type": "string", "description": image},
        "reference_images": {"type": "array", "items": {"type": "string"}, "description": image + "s"},
        "reference_videos": {"type": "array", "items": {"type": "string"}, "description": "URLs"},
        "audio": {"type": "boolean", "description": "With sound"},
        "seed": {"type": "integer"},
        # A JSON string, not an open object: strict mode has no way to say "any object" (an object is accepted too).
        "options": {"type": "string", "description": "JSON object of gateway-native parameters"},
        "wait_seconds": {
            "type": "number", "minimum": 0, "maximum": MAX_WAIT,
            "description": f"Max seconds to wait (default {default_wait:g})",
        },
        "idempotency_key": {"type": "string", "maxLength": 200,
                            "description": "Same key = same job, never billed twice"},
        "download": {"type": "boolean", "description": "Save the video locally"},
        "max_cost_usd": {"type": "number", "minimum": 0, "description": "USD cap"},
        "dry_run": {"type": "boolean"},  # validate and estimate only: the name says it, and tools/list is paid for
    }
    if not durations:
        props["duration"].pop("enum")
    return strict_object(props, ["model"])


def tool_definitions(providers: Mapping[str, Provider], default_wait: float) -> list[t.Tool]:
    provider_ids = list(providers)
    return [
        t.Tool(
            name="generate_video",
            title="Generate video",
            description=(
                "Start ONE paid video job (image-to-video: first_frame_image); waits up to wait_seconds with "
                "progress. Returns the task, done (video_url) or running (task_id): then use get_video_task, never "
                "generate_video again for it. null = not given."
            ),
            input_schema=generate_video_input_schema(providers, default_wait),
            output_schema=GENERATE_OUTPUT_SCHEMA,
            _meta=TOOL_META,  # MCP Apps hosts show the task in the inline player (surface/apps.py)
            # read-only and idempotent default to false; destructive defaults to true, so it is said
            annotations=t.ToolAnnotations(destructive_hint=False, open_world_hint=True),
        ),
        t.Tool(
            name="get_video_task",
            title="Get video task",
            description=(
                "A video task's status by task_id (free, starts nothing); wait_seconds waits for the end with "
                "progress. provider + upstream_task_id: adopt a gateway's job by its own id."
            ),
            input_schema=strict_object({
                "task_id": {"type": "string"},
                "wait_seconds": {"type": "number", "minimum": 0, "maximum": MAX_WAIT, "default": 0},
                # Adoption: a lost submit's job (or one made elsewhere) by the gateway's own id.
                "provider": {"type": "string"},
                "upstream_task_id": {"type": "string"},
                "contact_sheet": {"type": "boolean", "description": "Add a grid of 6 frames"},
            }, []),
            output_schema=TASK_OUTPUT_SCHEMA,
            _meta=TOOL_META,  # MCP Apps hosts show the task in the inline player (surface/apps.py)
            annotations=t.ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
        ),
        t.Tool(
            name="list_video_models",
            title="List video models",
            description=(
                "Model ids for generate_video with their allowed durations, resolutions, aspect ratios, inputs, "
                "audio and price. Free."
            ),
            input_schema=strict_object({"provider": {"type": "string", "enum": provider_ids}}, []),
            output_schema={
                "type": "object",
                "properties": {"models": {"type": "array", "items": {"type": "object"}}},
                "required": ["models"],
            },
            annotations=t.ToolAnnotations(
                # open world: it may ask the gateways' GET /v1/models for models the catalog lacks
                read_only_hint=True, idempotent_hint=True, open_world_hint=True
            ),
        ),
    ]
