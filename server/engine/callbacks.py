"""Completion callbacks: the per-task token a gateway that calls back (apimodels' `callback_url`) must present, and
waking the poller of a task whose callback arrived. A callback is never believed: it only makes the poller read the
task from the gateway at once, so a forged or replayed body cannot set a result or a video URL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

import anyio

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callbacks"  # POST {public URL}/callbacks/{task_id}/{token}
_EARLY_MAX = 10_000  # callbacks remembered for pollers not (yet) asleep on their task


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint(base_url: str, task_id: str) -> tuple[str, str]:
    """(the URL the gateway calls back, the digest the ledger keeps): 192 random bits nobody can guess."""
    token = secrets.token_urlsafe(24)
    return f"{base_url.rstrip('/')}{CALLBACK_PATH}/{task_id}/{token}", digest(token)


def matches(expected_digest: str | None, token: str) -> bool:
    return expected_digest is not None and hmac.compare_digest(expected_digest, digest(token))


class Wakes:
    """Per task: an event its sleeping poller waits on, set when the task's callback arrives. Per gateway: whether
    its callbacks reach this server (until a safety check finds a job over with no callback, they are trusted)."""

    def __init__(self) -> None:
        self._sleeping: dict[str, anyio.Event] = {}
        self._early: set[str] = set()
        self._reaching: dict[str, bool] = {}

    def trusted(self, provider_id: str) -> bool:
        return self._reaching.get(provider_id, True)

    def wake(self, task_id: str, provider_id: str) -> None:
        self._reaching[provider_id] = True
        event = self._sleeping.get(task_id)
        if event is not None:
            event.set()
        elif len(self._early) < _EARLY_MAX:
            self._early.add(task_id)

    async def nap(self, task_id: str, delay: float, *, least: float) -> bool:
        """Sleep `delay` s or until the task's callback arrives (then at least `least` s after the nap began, so a
        replayed callback cannot make us hammer the gateway); True when a callback cut it short."""
        began = anyio.current_time()
        woken = task_id in self._early
        if not woken:
            event = self._sleeping[task_id] = anyio.Event()
            try:
                with anyio.move_on_after(delay):
                    await event.wait()
            finally:
                self._sleeping.pop(task_id, None)
            woken = event.is_set()
        self._early.discard(task_id)
        if woken:
            await anyio.sleep_until(min(began + least, began + delay))
        return woken

    def missed(self, provider_id: str, task_id: str) -> None:
        if self.trusted(provider_id):
            log.warning("%s finished task %s without calling back: its callbacks do not seem to reach this server "
                        "(check VIDEOGEN_PUBLIC_URL); polling its jobs normally until one arrives", provider_id,
                        task_id)
        self._reaching[provider_id] = False

    def forget(self, task_id: str) -> None:
        self._early.discard(task_id)
