"""The stdio transport's two pipes, read and written by daemon threads so that one Ctrl-C ends the server.

The SDK's stdio_server reads stdin in an anyio worker thread that no cancellation can stop: in a terminal a Ctrl-C
then waits for a line or an end of file (two Ctrl-C and a Ctrl-D). Here a daemon thread blocks in os.read, the event
loop only awaits a stream, and the process exits without joining the thread. A write that fails (the client closed
our stdout: BrokenPipeError, or EINVAL on Windows) means the client is gone: the server stops and exits 0. A job in
flight stays in the ledger either way and is followed up at the next start.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel


class _Lines:
    """`async for line in stdin`, as the SDK's stdio_server iterates its stdin."""

    def __init__(self, fd: int) -> None:
        self._send, self._receive = anyio.create_memory_object_stream[str](16)
        token = anyio.lowlevel.current_token()
        threading.Thread(target=self._read, args=(fd, token), name="videogen-stdin", daemon=True).start()

    def _read(self, fd: int, token: anyio.lowlevel.EventLoopToken) -> None:
        pending = b""
        try:
            while chunk := os.read(fd, 65536):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    anyio.from_thread.run(self._send.send, line.decode("utf-8", "replace") + "\n", token=token)
            if pending:
                anyio.from_thread.run(self._send.send, pending.decode("utf-8", "replace"), token=token)
        except Exception:  # the loop has ended (or stdin broke): nobody is left to tell
            pass
        with suppress(Exception):
            anyio.from_thread.run_sync(self._send.close, token=token)

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class _Writer:
    """`await stdout.write(text)` + `await stdout.flush()`; each write runs whole in a daemon thread."""

    def __init__(self, fd: int, client_gone: Callable[[], None]) -> None:
        self._fd, self._client_gone = fd, client_gone

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    async def write(self, text: str) -> None:
        done, failed = anyio.Event(), []
        token = anyio.lowlevel.current_token()

        def work() -> None:
            try:
                self._write_all(text.encode("utf-8"))
            except OSError as exc:  # BrokenPipeError on POSIX, EINVAL on Windows
                failed.append(exc)
            with suppress(Exception):
                anyio.from_thread.run_sync(done.set, token=token)

        threading.Thread(target=work, name="videogen-stdout", daemon=True).start()
        await done.wait()
        if failed:
            self._client_gone()
            await anyio.sleep_forever()  # cancelled at once by client_gone

    async def flush(self) -> None:
        await anyio.lowlevel.checkpoint()


@asynccontextmanager
async def pipes():
    """(stdin, stdout) for stdio_server, with fd 0 on the null device and fd 1 on stderr meanwhile, so that stray
    reads see EOF and stray prints miss the wire (what stdio_server does for the streams it opens itself)."""
    private_in, private_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    try:
        with anyio.CancelScope() as scope:
            yield _Lines(private_in), _Writer(private_out, scope.cancel)
    finally:
        os.dup2(private_in, 0)
        os.dup2(private_out, 1)


async def serve_stdio(run: Callable[[Any, Any], Awaitable[None]]) -> None:
    from mcp.server.stdio import stdio_server

    async with pipes() as (stdin, stdout), stdio_server(stdin, stdout) as (read, write):
        await run(read, write)
