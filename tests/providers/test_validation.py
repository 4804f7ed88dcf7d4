"""Invalid options are refused before any request reaches the gateway, with a message listing what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.requests import req
from fakes.gateways import fake_for
from pydantic import SecretStr

from providers.base import ModelInfo
from providers.errors import InvalidRequest
from providers.registry import adapter_class
from providers.validate import choices, validate

pytestmark = pytest.mark.anyio

URL = "https://img.example.com/a.png"
DATA = "data:image/png;base64,iVBORw0KGgo="
VIDEO = "https://vid.example.com/v.mp4"


REFUSALS = [
    # (provider, request, phrases the message must contain)
    ("orcarouter", req("kling/kling-v2-master", duration=7), ["kling/kling-v2-master", "5 or 10 s", "got 7"]),
    ("orcarouter", req("kling/kling-v3", duration=16), ["3 to 15 s"]),
    ("orcarouter", req("kling/kling-v3-omni", negative_prompt="x"),
     ["kling/kling-v3-omni on OrcaRouter takes no negative_prompt", "kling/kling-v2-master"]),
    ("orcarouter", req("kling/kling-v2-5-turbo", resolution="4k"), ["720p or 1080p", "got 4k"]),
    ("orcarouter", req("kling/kling-v2-6", audio=True), ["audio only at resolution 1080p"]),
    ("orcarouter", req("kling/kling-v2-master", audio=True), ["cannot generate audio", "kling/kling-v2-6"]),
    ("orcarouter", req("kling/kling-v3", aspect_ratio="4:3"), ["16:9, 9:16 or 1:1", "got 4:3"]),
    ("orcarouter", req("kling/kling-v3", reference_images=[URL]), ["kling/kling-v3-omni"]),
    ("orcarouter", req("kling/kling-v3", seed=1), ["takes no seed", "byteplus/dreamina-seedance-2-0-260128"]),
    ("orcarouter", req("kling/kling-v3", prompt="   "), ["needs a non-blank prompt"]),
    ("orcarouter", req("kling/kling-v3-omni", reference_videos=[VIDEO], resolution="4k"),
     ["with a reference video takes resolution 720p or 1080p"]),
    ("orcarouter", req("kling/kling-v3-omni", reference_videos=[VIDEO], duration=12), ["at most 10 s"]),
    ("orcarouter", req("kling/kling-v3-omni", reference_videos=[VIDEO], audio=True), ["audio", "reference video"]),
    ("orcarouter", req("kling/kling-v9"), ["has no model 'kling/kling-v9'", "kling/kling-v3-omni",
                                           "byteplus/dreamina-seedance-2-0-260128"]),
    ("omnirouters", req("Kling-3.0-omni", first_frame=DATA), ["only http(s) image URLs"]),
    ("omnirouters", req("Veo-3.1", duration=5), ["4, 6 or 8 s"]),
    ("omnirouters", req("Sora-2.0", duration=10), ["4, 8 or 12 s"]),
    ("omnirouters", req("Hailuo-2.3", resolution="1080p", duration=6), ["at 1080p takes duration 10 s"]),
    ("omnirouters", req("Hailuo-2.3-1080p", duration=6), ["10 s", "got 6"]),
    ("omnirouters", req("Kling-3.0-omni-1080p", resolution="720p"), ["takes resolution 1080p"]),
    ("omnirouters", req("Vidu-q2", duration=12), ["1 to 10 s"]),
    ("omnirouters", req("Vidu-q3", duration=17), ["1 to 16 s"]),
    ("omnirouters", req("Kling-O1", duration=11), ["3 to 10 s"]),
    ("omnirouters", req("Seedance-1.5-pro", duration=13), ["4 to 12 s"]),
    ("omnirouters", req("Jimeng-3.0pro", duration=6), ["5 or 10 s"]),
    ("omnirouters", req("Sora-2.0", last_frame=URL), ["takes no last frame", "Kling-3.0"]),
    ("omnirouters", req("Kling-3.0", negative_prompt="x"), ["no negative_prompt", "no model on this gateway does"]),
    ("octopusx", req("Kling-2.5", audio=True), ["cannot generate audio", "Kling-3.0-Omni"]),
    ("octopusx", req("Kling-3.0-Omni", resolution="4k"), ["720p or 1080p"]),
    ("octopusx", req("Kling-3.0-Omni", reference_images=[URL]), ["takes no reference images",
                                                                  "doubao-seedance-2-0-260128"]),
    ("octopusx", req("doubao-seedance-2-0-260128", duration=3), ["4 to 15 s"]),
    ("apimodels", req("kling-video-o1", duration=11), ["3 to 10 s"]),
    ("apimodels", req("kling-v2-6", duration=3), ["5 or 10 s"]),
    ("apimodels", req("kling-v3-omni", prompt=None), ["needs a prompt or an image/video input"]),
    ("apimodels", req("kling-v3-omni", negative_prompt="x"), ["no negative_prompt", "kling-v2-6"]),
    ("apimodels", req("kling-motion-control", last_frame=URL), ["takes no last frame"]),
    ("apimodels", req("kling-video-o1", reference_videos=[VIDEO, VIDEO]), ["at most 1 reference videos"]),
    ("apimodels", req("kling-video-o1", reference_videos=[DATA]), ["only as http(s) URLs"]),
    ("infinityblue", req("kling-v2-5-turbo", seed=3), ["takes no seed", "veo_3_1"]),
    ("infinityblue", req("veo_3_1", last_frame=URL), ["takes no last frame", "kling-v2-5-turbo"]),
    ("infinityblue", req("veo_3_1", audio=False), ["always generates audio"]),
    ("infinityblue", req("veo_3_1", aspect_ratio="1:1"), ["16:9 or 9:16"]),
    ("infinityblue", req("veo_3_1_fast"), ["has no model", "veo_3_1-fast"]),
    ("sandbox", req("kling-sim", duration=6), ["kling-sim on Sandbox takes duration 5 or 10 s (got 6)"]),
    ("sandbox", req("veo-sim", last_frame=URL), ["takes no last frame", "kling-sim"]),
    ("sandbox", req("veo-sim", reference_videos=[VIDEO], duration=8), ["at most 6 s"]),
]


@pytest.mark.parametrize(("provider_id", "request_", "phrases"), REFUSALS,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(REFUSALS)])
async def test_refused_before_any_request(provider_id, request_, phrases):
    gw = fake_for(provider_id if provider_id != "sandbox" else "orcarouter")
    async with gw.client() as client:
        provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=SecretStr("sk-x"))
        with pytest.raises(InvalidRequest) as caught:
            await provider.submit(request_)
    message = str(caught.value)
    for phrase in phrases:
        assert phrase in message
    assert caught.value.sent is False and caught.value.code == "invalid_request"
    assert gw.requests == [] and gw.created == 0


def test_choices_reads_naturally():
    assert choices([5, 10], unit="s") == "5 or 10 s"
    assert choices(range(3, 16), unit="s") == "3 to 15 s"
    assert choices([4, 6, 8]) == "4, 6 or 8"
    assert choices(["16:9"]) == "16:9"


def test_discovered_models_are_permissive_but_not_absurd():
    info = ModelInfo(name="new-model", discovered=True, first_frame=True, last_frame=True, audio=True,
                     negative_prompt=True, seed=True, prompt_required=False, max_reference_images=9)
    validate(req("new-model", duration=37, aspect_ratio="5:4", resolution="8k", seed=1, negative_prompt="n",
                 first_frame=DATA, audio=True), info)
    with pytest.raises(InvalidRequest, match="positive duration"):
        validate(req("new-model", duration=0), info)
    with pytest.raises(InvalidRequest, match="needs a prompt or an image"):
        validate(req("new-model", prompt=""), info)


DISCOVERABLE = {  # one name per request-builder family, as GET /v1/models might list them
    "orcarouter": ["kling/kling-v9", "kling/kling-v9-omni", "byteplus/seedance-9"],
    "omnirouters": ["Kling-9.0", "Wan-2.5-1080p"],  # a suffixed name of a known model is not "new"
    "octopusx": ["Kling-9.0", "doubao-seedance-9"],
    "infinityblue": ["kling-v9", "veo_9"],
    "sandbox": [], "apimodels": [],
}


async def test_every_request_field_is_mapped_or_refused():
    """A field set on the request either shows up in the body or is refused: nothing is silently dropped.

    Checked for every catalog model and for discovered models of every builder family.
    """
    import json

    from providers.registry import SPECS

    probes: dict[str, Any] = {
        "negative_prompt": "NEGPROBE", "seed": 987654321, "audio": True,
        "first_frame": "https://p.example/FIRSTPROBE.png", "last_frame": "https://p.example/LASTPROBE.png",
        "reference_images": ["https://p.example/REFPROBE.png"], "reference_videos": ["https://p.example/VIDPROBE.mp4"],
        "aspect_ratio": None, "resolution": None, "duration": None,  # filled per model below
    }
    checked = 0
    for provider_id in SPECS:
        gw = fake_for(provider_id if provider_id != "sandbox" else "orcarouter")
        gw.models = [{"id": name, "supported_endpoint_types": ["openai-video"]} for name in DISCOVERABLE[provider_id]]
        async with gw.client() as client:
            provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=None)
            assert len(await provider.discover()) == len(DISCOVERABLE[provider_id])
        for info in provider.models():
            values = dict(probes, aspect_ratio=info.aspect_ratios[-1] if info.aspect_ratios else "7:3",
                          resolution=info.resolutions[-1] if info.resolutions else "999p",
                          duration=info.durations[-1] if info.durations else 13)
            for field, value in values.items():
                try:
                    _, body = provider.build_submit(req(info.name, **{field: value}))
                except InvalidRequest:
                    continue
                text = json.dumps(body).lower()
                needle = value[0] if isinstance(value, list) else {True: "on"}.get(value, value)
                if field in ("resolution", "aspect_ratio"):  # may become a mode, an upper-case label, width/height
                    assert any(v in text for v in (str(needle).lower(), '"std"', '"pro"', '"4k"', "width")), (
                        provider_id, info.name, field, body)
                elif field == "audio":
                    assert any(v in text for v in ('"on"', "true", "enabled")) or info.family == "veo", (
                        provider_id, info.name, body)
                else:
                    assert str(needle).lower() in text, (provider_id, info.name, field, body)
                checked += 1
    assert checked > 200
