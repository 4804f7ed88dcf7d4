"""The defensive parser over every documented and inferred response shape (providers.md §1-§6, §11.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.base import TaskStatus
from providers.parse import STATUS_TABLE, _parse, parse_progress, parse_task, parse_time

URL = "https://cdn.example.com/v.mp4"
S, R, OK, F, C, U = (TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED, TaskStatus.FAILED,
                     TaskStatus.CANCELLED, TaskStatus.UNKNOWN)


def shape_a(status: str, **data: object) -> dict:
    return {"code": "success", "message": "", "data": {"task_id": "task_1", "status": status, **data}}


CASES = [
    # (name, body, status, progress, url, error_code)
    ("submit response (OrcaRouter/OctopusX)",
     {"id": "task_1", "task_id": "task_1", "object": "video", "model": "m", "status": "queued", "progress": 0,
      "created_at": 1712697600}, S, 0, None, None),
    ("A NOT_START", shape_a("NOT_START"), S, None, None, None),
    ("A SUBMITTED", shape_a("SUBMITTED", progress="0%"), S, 0, None, None),
    ("A IN_PROGRESS 50%", shape_a("IN_PROGRESS", progress="50%"), R, 50, None, None),
    ("A SUCCESS result_url", shape_a("SUCCESS", progress="100%", result_url=URL), OK, 100, URL, None),
    ("A SUCCESS legacy fail_reason URL", shape_a("SUCCESS", fail_reason=URL, result_url=""), OK, 100, URL, None),
    ("A SUCCESS raw Kling", shape_a("SUCCESS", data={"task_result": {"videos": [{"url": URL}]}}), OK, 100, URL, None),
    ("A SUCCESS raw Ark", shape_a("SUCCESS", data={"content": {"video_url": URL}}), OK, 100, URL, None),
    ("A FAILURE", shape_a("FAILURE", fail_reason="content policy"), F, None, None, "failed"),
    ("A FAILURE cancelled", shape_a("FAILURE", fail_reason="Task cancelled by user"), C, None, None, "cancelled"),
    ("A UNKNOWN", shape_a("UNKNOWN"), U, None, None, "unknown_status"),
    ("B queued", {"id": "task_1", "object": "video", "status": "queued", "progress": 0}, S, 0, None, None),
    ("B unknown (NOT_START)", {"id": "task_1", "object": "video", "status": "unknown"},
     U, None, None, "unknown_status"),
    ("B in_progress", {"id": "task_1", "status": "in_progress", "progress": 50}, R, 50, None, None),
    ("B completed metadata.url", {"id": "task_1", "status": "completed", "progress": 100, "metadata": {"url": URL},
                                  "error": {"message": "", "code": ""}}, OK, 100, URL, None),
    ("B failed error", {"id": "task_1", "status": "failed", "error": {"message": "moderation", "code": "policy"}},
     F, None, None, "policy"),
    ("OctopusX processing", {"id": "task_1", "status": "processing", "progress": 30}, R, 30, None, None),
    ("OctopusX video_url", {"id": "task_1", "status": "completed", "video_url": URL, "metadata": {}},
     OK, 100, URL, None),
    ("OctopusX cancelled", {"id": "task_1", "status": "cancelled"}, C, None, None, "cancelled"),
    ("OctopusX omni-fast data[0].url", {"task_id": "task_1", "status": "completed", "data": [{"url": URL}]},
     OK, 100, URL, None),
    ("OctopusX Seedance submit", {"task_id": "cgt-1"}, U, None, None, "unknown_status"),
    ("OctopusX /video/query pending", {"id": "sora-2:task_1", "status": "pending", "video_url": None}, S, None, None,
     None),
    ("simple wrapped processing", {"code": "success", "data": {"task_id": "t", "status": "processing"}}, R, None, None,
     None),
    ("simple wrapped succeeded", {"code": "success", "data": {"task_id": "t", "status": "succeeded", "url": URL,
                                                               "format": "mp4"}}, OK, 100, URL, None),
    ("simple wrapped failed", {"code": "success", "data": {"task_id": "t", "status": "failed",
                                                            "error": {"code": "e", "message": "bad"}}},
     F, None, None, "e"),
    ("InfinityBlue flat queued", {"task_id": "t", "status": "queued"}, S, None, None, None),
    ("InfinityBlue flat in_progress", {"task_id": "t", "status": "in_progress"}, R, None, None, None),
    ("InfinityBlue flat completed", {"task_id": "t", "status": "completed", "url": URL, "format": "mp4",
                                     "metadata": {"duration": 5}}, OK, 100, URL, None),
    ("InfinityBlue flat failed", {"task_id": "t", "status": "failed", "error": {"code": "x", "message": "boom"}},
     F, None, None, "x"),
    ("apimodels pending", {"code": 200, "msg": "success", "data": {"taskId": "c1", "state": "pending"}}, S, None, None,
     None),
    ("apimodels processing", {"code": 200, "msg": "success", "data": {"taskId": "c1", "state": "processing"}},
     R, None, None, None),
    ("apimodels completed", {"code": 200, "msg": "success", "data": {"taskId": "c1", "state": "completed",
                                                                     "resultUrls": [URL]}}, OK, 100, URL, None),
    ("apimodels failed with code 200", {"code": 200, "msg": "success",
                                        "data": {"taskId": "c1", "state": "failed", "failMsg": "Content policy"}},
     F, None, None, "failed"),
    ("Kling native", {"code": 0, "message": "SUCCEED", "data": {"task_id": "k", "task_status": "succeed",
                                                              "task_result": {"videos": [{"url": URL}]}}},
     OK, 100, URL, None),
    ("Kling processing", {"code": 0, "data": {"task_id": "k", "task_status": "processing"}}, R, None, None, None),
    ("Ark running", {"id": "cgt-1", "status": "running"}, R, None, None, None),
    ("Ark succeeded", {"id": "cgt-1", "status": "succeeded", "content": {"video_url": URL}}, OK, 100, URL, None),
    ("Ark expired", {"id": "cgt-1", "status": "expired"}, F, None, None, "expired"),
    ("Veo running", {"name": "operations/1", "done": False}, R, None, None, None),
    ("Veo done", {"name": "operations/1", "done": True, "response": {"generateVideoResponse": {
        "generatedSamples": [{"video": {"uri": URL}}]}}}, OK, 100, URL, None),
    ("new-api error with 200", {"code": "task_not_exist", "message": "task_not_exist", "data": None},
     U, None, None, "task_not_exist"),
    ("status we do not know", {"id": "t", "status": "rendering_magic"}, U, None, None, "unknown_status"),
]


@pytest.mark.parametrize(("body", "status", "progress", "url", "code"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_shape_parses(body, status, progress, url, code):
    snap = parse_task(body)
    assert (snap.status, snap.progress, snap.video_url, snap.error_code) == (status, progress, url, code)
    if status in (F, C):
        assert snap.error_message
    if status is U:
        assert snap.error_message  # the agent is told what the gateway said


def test_upstream_id_and_error_message():
    snap = parse_task({"code": 200, "msg": "success", "data": {"taskId": "c1", "state": "failed",
                                                              "failMsg": "Content policy violation"}})
    assert snap.upstream_id == "c1" and snap.error_message == "Content policy violation"
    assert parse_task(shape_a("IN_PROGRESS")).upstream_id == "task_1"


@pytest.mark.parametrize(("value", "expected"), [
    (50, 50), ("50%", 50), ("50", 50), (" 7 % ", 7), (99.9, 99), (150, 100), (-3, 0), ("", None), ("abc", None),
    (None, None), (True, None), (float("nan"), None), ([50], None),
])
def test_progress(value, expected):
    assert parse_progress(value) == expected


def test_timestamps_in_seconds_and_milliseconds_agree():
    seconds, millis = parse_time(1705123450), parse_time(1705123450000)
    assert seconds == millis == datetime(2024, 1, 13, 5, 24, 10, tzinfo=UTC)
    assert parse_time(0) is None and parse_time("2024-01-13T05:24:10Z") == seconds and parse_time("soon") is None
    snap = parse_task({"code": 200, "data": {"taskId": "c", "state": "completed", "createTime": 1705123450000,
                                             "completeTime": 1705123500000, "resultUrls": [URL]}})
    assert snap.created_at == seconds and snap.updated_at == parse_time(1705123500)


def test_a_url_before_success_is_not_reported():
    assert parse_task({"id": "t", "status": "in_progress", "video_url": URL}).video_url is None
    assert parse_task(shape_a("FAILURE", fail_reason="https://not-a-result/")).status is F


def test_status_table_values_are_normalized_statuses():
    assert set(STATUS_TABLE.values()) <= set(TaskStatus)
    assert all(key == key.lower() for key in STATUS_TABLE)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
keys = st.sampled_from(["code", "data", "status", "state", "task_status", "progress", "url", "video_url",
                        "result_url", "fail_reason", "failMsg", "error", "metadata", "resultUrls", "content",
                        "task_result", "videos", "created_at", "createTime", "done", "response", "id", "taskId"])
taskish = st.recursive(
    json_values,
    lambda children: st.dictionaries(keys, children, max_size=8) | st.lists(children, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(taskish)
def test_parse_task_never_raises(body):
    snap = _parse(body)  # the inner parser, without parse_task's last-resort guard: it must be total by itself
    assert snap.status in TaskStatus
    assert snap.progress is None or 0 <= snap.progress <= 100
