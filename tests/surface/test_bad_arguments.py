"""Property: every tool, given any kind of bad argument, answers a named, actionable isError (never a crash)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from hypothesis import HealthCheck, given, settings, strategies as st
from mcp import Client

from mcp_support import make_settings
from server.app import build_server

VALID = {
    "generate_video": {"model": "sandbox/kling-sim", "prompt": "a cat", "wait_seconds": 0},
    "get_video_task": {"task_id": "vg_00000000000000000000000000000000"},
    "list_video_models": {},
}
NAMES = {
    "generate_video": ["model", "prompt", "duration", "aspect_ratio", "resolution", "negative_prompt",
                       "first_frame_image", "last_frame_image", "reference_images", "reference_videos", "audio",
                       "seed", "options", "wait_seconds", "idempotency_key", "download"],
    "get_video_task": ["task_id", "wait_seconds"],
    "list_video_models": ["provider"],
}
finite = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no infinities
junk = st.one_of(st.integers(-10**6, 10**6), finite, st.text(max_size=20), st.booleans(),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
letters = "abcdefghijklmnopqrstuvwxyz_"


@st.composite
def bad_call(draw) -> tuple[str, dict, str]:
    tool = draw(st.sampled_from(sorted(VALID)))
    args = dict(VALID[tool])
    kind = draw(st.sampled_from(["unknown", "type", "range", "value"]))
    if kind == "unknown":
        name = draw(st.text(letters, min_size=1, max_size=12).filter(lambda n: n not in NAMES[tool]))
        args[name] = draw(junk.filter(lambda v: v not in (None, "", [])))
        return tool, args, NAMES[tool][0]  # the refusal lists the real argument names
    if kind == "range":
        field = {"generate_video": "duration", "get_video_task": "wait_seconds", "list_video_models": "provider"}[tool]
        args[field] = draw({"duration": st.integers(-5, 10**6).filter(lambda d: d not in (5, 10)),
                            "wait_seconds": st.one_of(finite.filter(lambda w: w < 0), st.floats(241, 1e9)),
                            "provider": st.text("xyz", min_size=1, max_size=8)}[field])
        return tool, args, {"duration": "5", "wait_seconds": "wait_seconds", "provider": "sandbox"}[field]
    if kind == "value":
        field, value, named = draw(st.sampled_from({
            "generate_video": [("model", "nope/model", "list_video_models"), ("options", "{not json", "options"),
                               ("options", "[1, 2]", "options"), ("aspect_ratio", "7:3", "aspect_ratio"),
                               ("reference_videos", ["ftp://x"], "reference_videos")],
            "get_video_task": [("task_id", "vg_missing", "not found")],
            "list_video_models": [("provider", "nope", "sandbox")],
        }[tool]))
        args[field] = value
        return tool, args, named
    field = draw(st.sampled_from(NAMES[tool]))
    some_list = st.lists(st.text(), min_size=1)
    wrong = {"reference_images": st.integers(), "reference_videos": st.integers(), "audio": some_list,
             "download": some_list, "options": st.integers()}.get(field)
    if wrong is None:
        wrong = st.one_of(st.lists(st.integers(), min_size=1), st.dictionaries(st.text("ab", min_size=1), st.integers(),
                                                                               min_size=1))
    args[field] = draw(wrong)
    return tool, args, field


async def call(tool: str, args: dict) -> tuple[bool, str]:
    home = Path(tempfile.mkdtemp())
    async with Client(build_server(make_settings(home), download_default=False)) as c:
        r = await c.call_tool(tool, args)
    return bool(r.is_error), r.content[0].text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_call())
def test_every_bad_argument_gets_a_named_refusal(case):
    tool, args, named = case
    is_error, text = anyio.run(call, tool, args)
    assert is_error, f"{tool}({args}) was accepted: {text}"
    assert "internal error" not in text, f"{tool}({args}): {text}"
    assert named in text, f"{tool}({args}) refusal does not name {named!r}: {text}"
