"""A finished task's video on this machine, when server replicas on several machines share one ledger: the path the
ledger names when it exists here, else the copy in this replica's own videos folder (VIDEOGEN_DOWNLOAD_DIR); a
replica with neither fetches the same job's video again (the gateway's content route or link), never a new job."""

from __future__ import annotations

from pathlib import Path

import anyio

from providers.base import Provider
from server.engine.polling import Poller
from server.ledger.store import TaskRow

ELSEWHERE = ("Saved by another replica of this server, on its machine; this one has no copy yet. Its video link on "
             "this server (and videogen://videos/{task_id}) fetches the same job's video again: no new job.")


def local_copy(row: TaskRow, videos_dir: Path) -> Path | None:
    """The saved video if this machine has it (a stat or two: cheap enough for every view)."""
    if not row.local_path:
        return None
    named = Path(row.local_path)
    if named.is_file():
        return named
    ours = videos_dir / f"{row.task_id}{named.suffix}"  # downloads are named after the task id (polling.py)
    return ours if ours.is_file() else None


class Copies:
    """Fetches missing copies, one download per task at a time in this process."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self._busy: dict[str, anyio.Lock] = {}

    @property
    def videos_dir(self) -> Path:
        return self.poller.place.dest_dir

    async def get(self, row: TaskRow, provider: Provider | None) -> Path | None:
        """This machine's copy of the task's video, fetched again if it was saved elsewhere; None when there is none
        to have (not finished, never saved, the gateway no longer serves it)."""
        found = await anyio.to_thread.run_sync(local_copy, row, self.videos_dir)
        if found is not None or provider is None or row.state != "succeeded" or row.download_state != "done":
            return found
        lock = self._busy.setdefault(row.task_id, anyio.Lock())
        try:
            async with lock:
                found = await anyio.to_thread.run_sync(local_copy, row, self.videos_dir)
                if found is None:  # the ledger's link may be stale: _fetch asks the gateway for a fresh one
                    _, found, _ = await self.poller._fetch(row, provider, lambda _row: None)
                return found
        finally:
            if not lock.statistics().tasks_waiting:
                self._busy.pop(row.task_id, None)
