"""The exact JSON body each gateway receives, per its docs (seeds 000-004, providers.md §11.3)."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.requests import req
from fakes.gateways import fake_for
from pydantic import SecretStr

from providers.base import TaskStatus, VideoRequest
from providers.registry import adapter_class

pytestmark = pytest.mark.anyio

FIRST, LAST = "https://img.example.com/first.png", "https://img.example.com/last.png"
REF, VIDEO = "https://img.example.com/ref.png", "https://vid.example.com/motion.mp4"
DATA_URI = "data:image/png;base64,iVBORw0KGgo="


async def sent(provider_id: str, request: VideoRequest, **fake: Any) -> tuple[str, Any, Any]:
    """Submit through the provider's fake gateway; return (path, JSON body received, snapshot)."""
    gw = fake_for(provider_id, api_key="sk-test", **fake)
    async with gw.client() as client:
        provider = adapter_class(provider_id)(client, base_url=gw.base_url, api_key=SecretStr("sk-test"))
        snapshot = await provider.submit(request)
    (recorded,) = gw.submits
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert recorded.headers["content-type"] == "application/json"
    return recorded.path, recorded.json, snapshot


P = "a red fox runs through snow"

CASES: list[tuple[str, str, VideoRequest, str, dict[str, Any]]] = [
    # --- OrcaRouter (seed 000): Kling fields in metadata, duration a string, mode from resolution
    ("orcarouter", "kling t2v/i2v", req("kling/kling-v2-6", duration=10, aspect_ratio="16:9", first_frame=FIRST,
                                        last_frame=LAST, resolution="1080p", negative_prompt="blur", audio=True),
     "/v1/video/generations",
     {"model": "kling/kling-v2-6", "prompt": P, "image": FIRST,
      "metadata": {"mode": "pro", "aspect_ratio": "16:9", "duration": "10", "sound": "on", "image_tail": LAST,
                   "negative_prompt": "blur"}}),
    ("orcarouter", "kling first frame only", req("kling/kling-v2-master", duration=5, aspect_ratio="9:16",
                                                 first_frame=DATA_URI),
     "/v1/video/generations",
     {"model": "kling/kling-v2-master", "prompt": P, "image": DATA_URI,
      "metadata": {"aspect_ratio": "9:16", "duration": "5"}}),
    ("orcarouter", "kling omni", req("kling/kling-v3-omni", duration=8, aspect_ratio="1:1", first_frame=FIRST,
                                     last_frame=LAST, reference_images=[REF], resolution="4k", audio=False,
                                     options={"watermark_info": {"enabled": False}}),
     "/v1/video/generations",
     {"model": "kling/kling-v3-omni", "prompt": P,
      "metadata": {"mode": "4k", "aspect_ratio": "1:1", "duration": "8", "sound": "off",
                   "image_list": [{"image_url": FIRST, "type": "first_frame"}, {"image_url": LAST, "type": "end_frame"},
                                  {"image_url": REF}],
                   "watermark_info": {"enabled": False}}}),
    ("orcarouter", "kling omni video", req("kling/kling-video-o1", duration=5, reference_videos=[VIDEO]),
     "/v1/video/generations",
     {"model": "kling/kling-video-o1", "prompt": P,
      "metadata": {"aspect_ratio": "16:9", "duration": "5",  # always sent: new-api reads absent as 1:1
                   "video_list": [{"video_url": VIDEO, "refer_type": "feature", "keep_original_sound": "no"}]}}),
    ("orcarouter", "seedance", req("byteplus/dreamina-seedance-2-0-260128", duration=5, aspect_ratio="16:9",
                                   first_frame=FIRST, resolution="720p", audio=True, seed=7),
     "/v1/video/generations",
     {"model": "byteplus/dreamina-seedance-2-0-260128", "prompt": P,
      "metadata": {"content": [{"type": "image_url", "image_url": {"url": FIRST}, "role": "first_frame"}],
                   "duration": 5, "ratio": "16:9", "resolution": "720p", "generate_audio": True, "seed": 7}}),
    # --- OmniRouters (seed 001): flat body, seconds string always, images URL array
    ("omnirouters", "kling omni", req("Kling-3.0-omni", duration=5, aspect_ratio="16:9", first_frame=FIRST),
     "/v1/videos",
     {"model": "Kling-3.0-omni", "prompt": P, "seconds": "5", "images": [FIRST], "aspect_ratio": "16:9",
      "input_region": "Oversea"}),
    ("omnirouters", "resolution field", req("Kling-3.0", duration=12, resolution="1080p", audio=True,
                                            first_frame=FIRST, last_frame=LAST),
     "/v1/videos",
     {"model": "Kling-3.0", "prompt": P, "seconds": "12", "images": [FIRST, LAST], "resolution": "1080p",
      "audio_generation": "Enabled", "input_region": "Oversea"}),
    ("omnirouters", "resolution in the name", req("Kling-3.0-omni-1080p", duration=5, reference_videos=[VIDEO]),
     "/v1/videos",
     {"model": "Kling-3.0-omni-1080p", "prompt": P, "seconds": "5", "videos": [VIDEO], "input_region": "Oversea"}),
    ("omnirouters", "seconds defaulted", req("Veo-3.1", aspect_ratio="9:16"),
     "/v1/videos", {"model": "Veo-3.1", "prompt": P, "seconds": "8", "aspect_ratio": "9:16"}),
    ("omnirouters", "hailuo 768p suffix", req("Hailuo-2.3-fast-768p", duration=6, first_frame=FIRST),
     "/v1/videos",
     {"model": "Hailuo-2.3-fast-768p", "prompt": P, "seconds": "6", "images": [FIRST], "input_region": "Oversea"}),
    # --- OctopusX (seed 002): Kling output_config in metadata; Seedance content[] top level
    ("octopusx", "kling", req("Kling-3.0-Omni", duration=15, aspect_ratio="9:16", resolution="720p", audio=True,
                              first_frame=FIRST, last_frame=LAST),
     "/v1/videos",
     {"model": "Kling-3.0-Omni", "prompt": P, "seconds": "15", "size": "720x1280", "image": FIRST,
      "metadata": {"output_config": {"duration": 15, "resolution": "720P", "aspect_ratio": "9:16",
                                     "audio_generation": "Enabled"}, "last_frame_url": LAST}}),
    ("octopusx", "kling video + options", req("Kling-3.0-Omni", duration=5, aspect_ratio="16:9", first_frame=FIRST,
                                              reference_videos=[VIDEO], options={"scene_type": "motion_control",
                                                                                 "motion_level": "pro"}),
     "/v1/videos",
     {"model": "Kling-3.0-Omni", "prompt": P, "seconds": "5", "size": "1280x720", "image": FIRST,
      "metadata": {"output_config": {"duration": 5, "aspect_ratio": "16:9"}, "video_url": VIDEO,
                   "scene_type": "motion_control", "motion_level": "pro"}}),
    ("octopusx", "kling 2.6 first frame", req("Kling-2.6", duration=10, aspect_ratio="1:1", first_frame=FIRST,
                                              resolution="1080p", audio=False),
     "/v1/videos",
     {"model": "Kling-2.6", "prompt": P, "seconds": "10", "image": FIRST,
      "metadata": {"output_config": {"duration": 10, "resolution": "1080P", "aspect_ratio": "1:1",
                                     "audio_generation": "Disabled"}}}),
    ("octopusx", "seedance", req("doubao-seedance-2-0-260128", duration=5, aspect_ratio="16:9", first_frame=FIRST,
                                 seed=3),
     "/v1/video/generations",
     {"model": "doubao-seedance-2-0-260128", "prompt": P,  # stock new-api requires a top-level prompt
      "content": [{"type": "text", "text": P},
                  {"type": "image_url", "image_url": {"url": FIRST}, "role": "first_frame"}],
      "metadata": {"duration": 5, "ratio": "16:9", "seed": 3}}),
    # --- apimodels.app (seed 003): its own body; duration string, mode, sound, image_list
    ("apimodels", "omni", req("kling-v3-omni", duration=5, aspect_ratio="16:9", first_frame=FIRST, last_frame=LAST,
                              resolution="1080p", audio=True),
     "/api/v1/video/generations",
     {"model": "kling-v3-omni", "prompt": P, "mode": "pro", "duration": "5", "aspect_ratio": "16:9", "sound": "on",
      "image_list": [{"image_url": FIRST, "type": "first_frame"}, {"image_url": LAST, "type": "end_frame"}]}),
    ("apimodels", "o1 video edit", req("kling-video-o1", duration=5, reference_videos=[VIDEO],
                                       options={"video_list": [{"video_url": VIDEO, "refer_type": "base",
                                                                "keep_original_sound": "yes"}]}),
     "/api/v1/video/generations",
     {"model": "kling-video-o1", "prompt": P, "duration": "5",
      "video_list": [{"video_url": VIDEO, "refer_type": "base", "keep_original_sound": "yes"}]}),
    ("apimodels", "kling v2.6", req("kling-v2-6", duration=10, aspect_ratio="9:16", first_frame=FIRST,
                                    negative_prompt="blur"),
     "/api/v1/video/generations",
     {"model": "kling-v2-6", "prompt": P, "duration": "10", "aspect_ratio": "9:16", "image": FIRST,
      "negative_prompt": "blur"}),
    ("apimodels", "motion control", req("kling-motion-control", first_frame=FIRST, reference_videos=[VIDEO],
                                        resolution="720p"),
     "/api/v1/video/generations",
     {"model": "kling-motion-control", "prompt": P, "mode": "std", "image": FIRST, "motion_video": VIDEO}),
    # --- InfinityBlue (seed 004): image, numeric duration, vendor fields in metadata
    ("infinityblue", "kling", req("kling-v2-5-turbo", duration=5, aspect_ratio="16:9", first_frame=FIRST,
                                  resolution="1080p", negative_prompt="blur", last_frame=LAST),
     "/v1/video/generations",
     {"model": "kling-v2-5-turbo", "prompt": P, "image": FIRST, "duration": 5,
      "metadata": {"aspect_ratio": "16:9", "mode": "pro", "duration": "5", "negative_prompt": "blur",
                   "image_tail": LAST}}),
    ("infinityblue", "veo", req("veo_3_1", duration=8, aspect_ratio="9:16", first_frame=DATA_URI, seed=42),
     "/v1/video/generations",
     # relay/channel/task/gemini: size, top-level duration, camelCase metadata
     {"model": "veo_3_1", "prompt": P, "image": DATA_URI, "duration": 8, "seed": 42, "size": "720x1280",
      "metadata": {"aspectRatio": "9:16", "seed": 42}}),
    ("infinityblue", "veo 1080p negative", req("veo_3_1-fast", duration=6, resolution="1080p", negative_prompt="blur",
                                               audio=True),
     "/v1/video/generations",
     {"model": "veo_3_1-fast", "prompt": P, "duration": 6, "size": "1920x1080",
      "metadata": {"resolution": "1080p", "negativePrompt": "blur", "generateAudio": True}}),
    ("infinityblue", "kling ratio defaulted", req("kling-v2-1-master", duration=10),
     "/v1/video/generations",
     {"model": "kling-v2-1-master", "prompt": P, "duration": 10,
      "metadata": {"aspect_ratio": "16:9", "duration": "10"}}),
]


@pytest.mark.parametrize(("provider_id", "request_", "path", "body"), [(c[0], c[2], c[3], c[4]) for c in CASES],
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_exact_body_received(provider_id, request_, path, body):
    got_path, got_body, snapshot = await sent(provider_id, request_)
    assert got_path == path
    assert got_body == body
    assert snapshot.status is TaskStatus.QUEUED and snapshot.upstream_id


async def test_octopusx_seedance_bare_task_id_response_is_a_queued_task():
    request = req("doubao-seedance-2-0-260128", duration=5)
    _, _, snapshot = await sent("octopusx", request, submit_shape="task_id")
    assert snapshot.status is TaskStatus.QUEUED and snapshot.upstream_id.startswith("task_")


def test_build_submit_is_pure_and_matches_what_is_sent():
    provider = adapter_class("orcarouter")(None, base_url="https://api.orcarouter.ai", api_key=SecretStr("k"))
    path, body = provider.build_submit(req("kling/kling-v3", duration=3))
    assert path == "/v1/video/generations"
    assert body == {"model": "kling/kling-v3", "prompt": P, "metadata": {"aspect_ratio": "16:9", "duration": "3"}}
