"""The task engine: write-before-submit, bounded submit, one poller per upstream task, waits, downloads.

INTERFACE SKELETON: the tools layer codes against these signatures; the engine helper fills in the bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from providers.base import Provider, VideoRequest
from server.tasks import Task

OnChange = Callable[[Task], Awaitable[None]]


@dataclass(frozen=True)
class Started:
    task: Task
    reused: bool  # True: an existing task was returned (same idempotency_key, or identical request in the window)
    reason: str = ""  # for the agent, when reused: why, and how to force a new job


class Engine:
    """Owns the ledger, the pollers and the background submits. Created in the server's lifespan.

    All long-running work (submits, polls, downloads) runs in the engine's own task group, never in a tool call's
    scope, so a cancelled or timed-out call never cancels or forgets a paid job.
    """

    async def start(
        self,
        provider: Provider,
        request: VideoRequest,
        *,
        idempotency_key: str | None = None,
        download: bool = True,
    ) -> Started:
        """Record the task (state `submitting`) durably, then submit in the background; return at once.

        The request has already been validated by the caller. Dedupe: same idempotency_key -> that task; no key and
        an identical request (provider, model, parameters) within the dedupe window -> that task.
        """
        raise NotImplementedError

    async def get(self, task_id: str) -> Task | None:
        """The task as the ledger knows it (no upstream call)."""
        raise NotImplementedError

    async def wait(self, task_id: str, timeout: float, on_change: OnChange | None = None) -> Task:
        """Wait up to `timeout` s for the task to end (and its download to finish), polling through the poller.

        Makes sure exactly one poller runs for the task (across processes: the lease). Calls `on_change` on every
        status/progress change. Cancelling the caller stops only the waiting. timeout=0 returns the current state.
        """
        raise NotImplementedError

    async def list(self, limit: int = 50) -> list[Task]:
        """Most recent tasks first."""
        raise NotImplementedError
