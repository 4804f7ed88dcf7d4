"""What stock new-api (QuantumNous/new-api) does with a task submit before and while building the vendor request,
as pure functions the fake gateway applies. Each rule names the new-api file it reproduces.

`accept(body, served)` is the relay's view of the body (or the error it answers); `vendor_request(req)` is the body
the channel would send upstream (Kling, Gemini/Veo, doubao/Seedance), raising the 500 a wrong type causes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# relay/common/relay_info.go TaskSubmitReq: the only top-level keys read; every other one is dropped.
SUBMIT_KEYS = ("prompt", "model", "mode", "image", "images", "size", "duration", "seconds", "input_reference",
               "metadata")


@dataclass
class Refusal(Exception):
    status: int
    code: str
    message: str
    task_envelope: bool = True  # relay_task.go respondTaskError {"code","message","data":null}; else OpenAI's

    def body(self) -> dict[str, Any]:
        if self.task_envelope:
            return {"code": self.code, "message": self.message, "data": None}
        return {"error": {"message": self.message, "type": "new_api_error", "code": self.code, "param": ""}}


def accept(body: Any, served: Callable[[str], bool], extra_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The TaskSubmitReq new-api builds from a submit body, or the Refusal it answers instead."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise Refusal(400, "invalid_request", "model is required")
    if not served(body["model"]):  # middleware/distributor.go: no channel for the model
        raise Refusal(503, "model_not_found", f"No available channel for model {body['model']} under group default",
                      task_envelope=False)
    if "seconds" in body and not isinstance(body["seconds"], str):  # relay_info.go: seconds is a Go string
        raise Refusal(400, "invalid_request", "json: cannot unmarshal number into Go struct field seconds")
    if not (isinstance(body.get("prompt"), str) and body["prompt"].strip()):  # relay/relay_utils.go validatePrompt
        raise Refusal(400, "invalid_request", "prompt is required")
    kept = {k: body[k] for k in (*SUBMIT_KEYS, *extra_keys) if k in body}
    duration = kept.get("duration")  # int or numeric string; anything else (a float) is ignored
    if isinstance(duration, str) and duration.isdigit():
        kept["duration"] = int(duration)
    elif not (isinstance(duration, int) and not isinstance(duration, bool)):
        kept.pop("duration", None)
    metadata = kept.get("metadata")
    if isinstance(metadata, str):  # metadata may arrive as a JSON string
        metadata = json.loads(metadata)
    kept["metadata"] = dict(metadata) if isinstance(metadata, dict) else {}
    kept["metadata"].pop("model", None)  # taskcommon UnmarshalMetadata deletes `model`
    return kept


def family(model: str) -> str:
    name = model.lower()
    if "veo" in name:
        return "gemini"
    if any(word in name for word in ("seedance", "doubao", "byteplus")):
        return "doubao"
    return "kling" if "kling" in name else ""


# The vendor structs' typed fields (unknown metadata keys vanish; a known key of the wrong type fails the round trip).
STR, INT, NUM, BOOL, LIST, DICT = (str,), (int,), (int, float), (bool,), (list,), (dict,)
KLING_FIELDS = {"aspect_ratio": STR, "mode": STR, "duration": STR, "negative_prompt": STR, "image_tail": STR,
                "cfg_scale": NUM, "sound": STR, "image_list": LIST, "video_list": LIST, "multi_shot": BOOL,
                "shot_type": STR, "multi_prompt": LIST, "watermark_info": DICT, "element_list": LIST,
                "callback_url": STR, "camera_control": DICT}  # relay/channel/task/kling
GEMINI_FIELDS = {"aspectRatio": STR, "resolution": STR, "negativePrompt": STR, "seed": INT, "generateAudio": BOOL,
                 "personGeneration": STR, "durationSeconds": INT}  # relay/channel/task/gemini
DOUBAO_FIELDS = {"content": LIST, "ratio": STR, "duration": INT, "resolution": STR, "generate_audio": BOOL,
                 "seed": INT, "watermark": BOOL, "camera_fixed": BOOL, "return_last_frame": BOOL, "frames": INT,
                 "service_tier": STR, "callback_url": STR, "execution_expires_after": INT, "draft": BOOL}  # doubao


def _round_trip(metadata: dict[str, Any], fields: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """taskcommon UnmarshalMetadata: JSON into the vendor struct; a wrong type -> 500 build_request_failed."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        kinds = fields.get(key)
        if kinds is None:
            continue  # not a field of the struct: silently gone
        wrong = isinstance(value, bool) and bool not in kinds
        if wrong or not isinstance(value, kinds):
            raise Refusal(500, "build_request_failed", f"unmarshal metadata failed: field {key} has the wrong type")
        out[key] = value
    return out


_KLING_RATIOS = {"1280x720": "16:9", "1920x1080": "16:9", "720x1280": "9:16", "1080x1920": "9:16"}
_GEMINI_SIZES = {"1280x720": ("16:9", "720p"), "1920x1080": ("16:9", "1080p"), "720x1280": ("9:16", "720p"),
                 "1080x1920": ("9:16", "1080p")}
_BASE64 = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


def vendor_request(req: dict[str, Any]) -> dict[str, Any]:
    """The upstream body the channel for this model builds from the accepted request (empty: no stock channel)."""
    kind, metadata = family(req["model"]), req["metadata"]
    if kind == "kling":
        payload: dict[str, Any] = {  # Kling convertToRequestPayload defaults; getAspectRatio: else -> 1:1
            "model_name": req["model"], "prompt": req["prompt"], "mode": req.get("mode") or "std",
            "duration": str(req.get("duration") or 5), "aspect_ratio": _KLING_RATIOS.get(req.get("size", ""), "1:1"),
            "cfg_scale": 0.5,
        }
        if req.get("image"):
            payload["image"] = req["image"]
        return {**payload, **_round_trip(metadata, KLING_FIELDS)}  # metadata merged over the payload
    if kind == "gemini":
        meta = _round_trip(metadata, GEMINI_FIELDS)
        ratio, resolution = _GEMINI_SIZES.get(req.get("size", ""), (None, None))
        image = req.get("image") or ""
        instance: dict[str, Any] = {"prompt": req["prompt"]}
        if image.startswith("data:") or _BASE64.match(image):  # only inline images are read; URLs are ignored
            instance["image"] = {"bytesBase64Encoded": image.split(",", 1)[-1]}
        parameters = {
            "aspectRatio": meta.get("aspectRatio") or ratio, "resolution": meta.get("resolution") or resolution,
            "durationSeconds": req.get("duration"), "negativePrompt": meta.get("negativePrompt"),
            "seed": meta.get("seed"), "generateAudio": meta.get("generateAudio"),
        }
        return {"instances": [instance], "parameters": {k: v for k, v in parameters.items() if v is not None}}
    if kind == "doubao":
        meta = _round_trip(metadata, DOUBAO_FIELDS)
        content = [item for item in meta.pop("content", None) or req.get("content") or []
                   if not (isinstance(item, dict) and item.get("type") == "text")]
        content.append({"type": "text", "text": req["prompt"]})  # convertToRequestPayload appends the prompt
        return {"model": req["model"], "content": content, **meta}
    return {}
