"""A fake gateway's completion callbacks, sent over real HTTP as apimodels.app does for a job submitted with a
`callback_url` ("Webhook URL for completion notification", seed 003). What apimodels posts is not documented: this
fake posts its task-query answer ({code, msg, data}) [I]; the server reads the task back anyway, never the body.

A daemon thread watches the fake's pending callbacks every 5 ms on the fake's own clock (so `advance` and `finish`
work) and POSTs each once when its job ends; `sent` records (task id, HTTP status or the error's name, wall time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2

TICK = 0.005


class CallbackSender:
    def __init__(self, now: Callable[[], float], ended: Callable[[str, float], Any | None]) -> None:
        self._now = now
        self._ended = ended  # (task id, now) -> the body to post once the job is over, else None
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent: list[tuple[str, int | str, float]] = []

    def watch(self, task_id: str, url: str) -> None:
        with self._lock:
            self._pending[task_id] = url
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fake-callbacks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx2.Client(timeout=10) as client:
            idle_since = time.monotonic()
            while True:
                time.sleep(TICK)
                with self._lock:
                    now = self._now()
                    due = [(i, u, b) for i, u in self._pending.items() if (b := self._ended(i, now)) is not None]
                    for task_id, _, _ in due:
                        del self._pending[task_id]
                    if not self._pending and not due and time.monotonic() - idle_since > 1.0:
                        self._thread = None
                        return
                for task_id, url, body in due:
                    try:
                        status: int | str = client.post(url, json=body).status_code
                    except httpx2.HTTPError as exc:  # the server is gone or unreachable: a real gateway gives up too
                        status = type(exc).__name__
                    self.sent.append((task_id, status, time.time()))
                if self._pending or due:
                    idle_since = time.monotonic()
