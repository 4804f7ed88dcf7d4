"""Response bodies of the fake new-api gateway, one function per view; pure, so tests can also use them as fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakes.tasks import FakeTask

_A = {"queued": "QUEUED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE",
      "cancelled": "FAILURE"}
_B = {"queued": "queued", "running": "in_progress", "succeeded": "completed", "failed": "failed",
      "cancelled": "cancelled"}
_SIMPLE = {"queued": "queued", "running": "processing", "succeeded": "succeeded", "failed": "failed",
           "cancelled": "failed"}
_FLAT = {"queued": "queued", "running": "in_progress", "succeeded": "completed", "failed": "failed",
         "cancelled": "failed"}
APIMODELS = {"queued": "pending", "running": "processing", "succeeded": "completed", "failed": "failed",
              "cancelled": "failed"}


def task_body(task: FakeTask, shape: str, state: str, progress: int | None, base: str) -> dict[str, Any]:
    """The poll answer for one task in one new-api response shape (see gateways.py's docstring for the names)."""
    url = f"{base}/files/{task.id}.mp4" if state == "succeeded" else ""
    reason = {"cancelled": "task cancelled by user", "failed": task.timeline.fail or ""}.get(state, "")
    created, finished = int(task.created), int(task.created + task.timeline.seconds)
    done = state in ("succeeded", "failed", "cancelled")
    if shape.startswith("A"):
        data: dict[str, Any] = {
            "task_id": task.id, "status": _A[state], "fail_reason": reason, "result_url": url,
            "submit_time": created, "start_time": created, "finish_time": finished if done else 0,
            "action": "generate", "data": {},
        }
        if progress is not None:
            data["progress"] = f"{progress}%"
        if shape == "A_legacy":
            data["result_url"], data["fail_reason"] = "", url or reason
        elif shape == "A_kling":
            data["result_url"] = ""
            data["data"] = {"task_status": "succeed" if url else "processing",
                            "task_result": {"videos": [{"id": "v1", "url": url, "duration": "5.1"}] if url else []}}
        elif shape == "A_ark":
            data["result_url"] = ""
            data["data"] = {"id": "cgt-fake", "status": "succeeded" if url else "running",
                            "content": {"video_url": url} if url else None}
        return {"code": "success", "message": "", "data": data}
    if shape in ("simple", "flat"):
        table = _SIMPLE if shape == "simple" else _FLAT
        flat: dict[str, Any] = {"task_id": task.id, "status": table[state], "url": url or None, "format": "mp4",
                                "metadata": {"duration": 5, "fps": 24, "width": 1280, "height": 720, "seed": 1},
                                "error": {"code": "cancelled" if state == "cancelled" else "generation_failed",
                                          "message": reason} if reason else None}
        if progress is not None:
            flat["progress"] = progress
        return {"code": "success", "data": flat} if shape == "simple" else flat
    status = _B[state]
    if shape == "octopusx" and status == "in_progress":
        status = "processing"  # OctopusX documents "processing" [seed 002]
    video: dict[str, Any] = {
        "id": task.id, "task_id": task.id, "object": "video", "model": task.model, "status": status,
        "created_at": created, "completed_at": finished if done else None, "seconds": "5",
        "error": {"message": reason, "code": "cancelled" if state == "cancelled" else "failed"} if reason else None,
        "metadata": {"url": url} if url else {},
    }
    if shape == "B_no_reason":  # ConvertToOpenAIVideo (Kling) sets `error` only when the vendor code != 0
        video["error"] = None
    if progress is not None:
        video["progress"] = progress
    if shape == "octopusx":
        video["video_url"] = url or None
        video["size"] = "1280x720"
        video["expires_at"] = finished + 86400 if url else None
    return video
