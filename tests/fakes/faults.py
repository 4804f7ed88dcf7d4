"""Fault injection for loopback tests, at three depths: a TCP proxy that breaks connections on cue, an ASGI wrapper
that fails a request before or after the gateway acted on it, and an httpx transport that raises transport errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from starlette.responses import JSONResponse

TcpRule = Callable[[str, str], str | None]  # (method, path) -> fault name or None
TCP_FAULTS = ("reset", "drop_after", "stall_after")


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """An asyncio TCP proxy on 127.0.0.1 in front of an HTTP/1.1 server, deciding per request (keep-alive aware).

        async with FaultProxy(upstream_port, rule=lambda method, path: "drop_after" if method == "POST" else None) as p:
            ... base_url=p.url ...

    Faults: "reset" (RST before any response; nothing forwarded), "drop_after" (forwarded, then RST instead of the
    answer), "stall_after" (forwarded, answer swallowed, connection held open past the client's read timeout).
    """

    def __init__(self, upstream_port: int, rule: TcpRule, *, stall: float = 30.0, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.rule = rule
        self.stall = stall
        self.port = port
        self.log: list[tuple[str, str, str | None]] = []
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        uwriter: asyncio.StreamWriter | None = None
        pump: asyncio.Task[None] | None = None
        state = {"mode": None, "answered": asyncio.Event()}
        try:
            while True:
                try:
                    head = await creader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path = head.split(b" ", 2)[:2]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await creader.readexactly(length) if length else b""
                fault = self.rule(method.decode(), path.decode())
                self.log.append((method.decode(), path.decode(), fault))
                if fault == "reset":
                    _reset(cwriter)
                    return
                if uwriter is None:
                    ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                    pump = asyncio.create_task(self._pump(ureader, cwriter, state))
                state["mode"], state["answered"] = fault, asyncio.Event()
                uwriter.write(head + body)
                await uwriter.drain()
                if fault in ("drop_after", "stall_after"):
                    await state["answered"].wait()  # the gateway has acted and answered; the client never hears it
                    if fault == "drop_after":
                        _reset(cwriter)
                    else:
                        await asyncio.sleep(self.stall)
                    return
        finally:
            if pump is not None:
                pump.cancel()
            if uwriter is not None:
                uwriter.close()
            if not cwriter.is_closing():
                cwriter.close()
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type]

    @staticmethod
    async def _pump(ureader: asyncio.StreamReader, cwriter: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        while data := await ureader.read(65536):
            if state["mode"] is None:
                cwriter.write(data)
                await cwriter.drain()
            else:
                state["answered"].set()


# ---- HTTP level -----------------------------------------------------------------------------------------------------

@dataclass
class HttpFault:
    """status: answer with it; after=True: only once the wrapped gateway has handled the request (task created).
    stall: hold the (real) answer this long first."""

    status: int | None = None
    after: bool = False
    retry_after: str | None = None
    stall: float = 0.0


@dataclass
class HttpFaults:
    """ASGI wrapper: `plan[route]` faults are consumed one per matching request (route as `route_of` names it)."""

    app: Any
    route_of: Callable[[str, str], str] = staticmethod(lambda method, path: (  # noqa: RUF009 (a constant)
        "submit" if method == "POST" else "content" if path.endswith("/content") else "poll"))
    plan: dict[str, list[HttpFault | None]] = field(default_factory=dict)

    def add(self, route: str, *faults: HttpFault | None) -> None:
        self.plan.setdefault(route, []).extend(faults)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        queue = self.plan.get(self.route_of(scope["method"], scope["path"])) or []
        fault = queue.pop(0) if queue else None
        if fault is None:
            return await self.app(scope, receive, send)
        if fault.after or fault.stall:
            swallowed: list[dict[str, Any]] = []

            async def keep(message: dict[str, Any]) -> None:
                swallowed.append(message)

            await self.app(scope, receive, keep)  # the gateway acts (creates the task); its answer is held back
            if fault.stall:
                await anyio.sleep(fault.stall)
            if fault.status is None:
                for message in swallowed:
                    await send(message)
                return
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        response = JSONResponse({"error": {"message": f"injected {fault.status}", "type": "fault",
                                           "code": f"fault_{fault.status}"}}, fault.status or 500, headers=headers)
        await response(scope, receive, send)


# ---- transport level ------------------------------------------------------------------------------------------------

TRANSPORT_FAULTS = ("connect", "connect_timeout", "pool_timeout", "reset_before", "drop_after", "timeout_after",
                    "write_error")


class FaultTransport(httpx2.AsyncBaseTransport):
    """Wraps a transport; `rule(request)` names a fault for that request, or None to pass it through.

    connect / connect_timeout / pool_timeout / write_error: nothing reaches the gateway. reset_before: nothing
    reaches it but the client sees a read error. drop_after / timeout_after: the gateway handles it, the answer is lost.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport, rule: Callable[[httpx2.Request], str | None]) -> None:
        self.inner = inner
        self.rule = rule

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fault = self.rule(request)
        if fault is None:
            return await self.inner.handle_async_request(request)
        if fault == "connect":
            raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
        if fault == "connect_timeout":
            raise httpx2.ConnectTimeout("timed out", request=request)
        if fault == "pool_timeout":
            raise httpx2.PoolTimeout("no connection available", request=request)
        if fault == "write_error":
            raise httpx2.WriteError("[Errno 32] Broken pipe", request=request)
        if fault == "reset_before":
            raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await response.aclose()
        if fault == "drop_after":
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if fault == "timeout_after":
            raise httpx2.ReadTimeout("timed out", request=request)
        raise ValueError(f"unknown fault {fault!r}")

    async def aclose(self) -> None:
        await self.inner.aclose()
