"""Fakes for the media tests: a scriptable download origin (ASGI app), a fake resolver, sample container bytes."""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

SAMPLE = Path(__file__).resolve().parents[2] / "providers" / "assets" / "sample.mp4"
# Minimal ISO-BMFF: a 24-byte ftyp box (brand isom) then an empty mdat; enough for the signature check.
SYNTH_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 64
# EBML header (1A45DFA3) whose DocType element (0x4282) says "webm".
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
WEBM += b"\x00" * 64
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def video_bytes() -> bytes:
    return SAMPLE.read_bytes() if SAMPLE.exists() else SYNTH_MP4 + b"\x00" * 2048


class Origin:
    """A fake download origin. Every request is logged as (server address, Host header, path, headers)."""

    def __init__(self, video: bytes) -> None:
        self.video = video
        self.log: list[tuple[str, str, str, dict[str, str]]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.handle)])

    async def handle(self, request: Request) -> Response:
        server = request.scope.get("server") or ("", 0)
        self.log.append((str(server[0]), request.headers.get("host", ""), request.url.path, dict(request.headers)))
        path, q = request.url.path, request.query_params
        if path == "/video.mp4":
            return Response(self.video, media_type="video/mp4")
        if path == "/mov":
            return Response(MOV, media_type="video/quicktime")
        if path == "/webm":
            return Response(WEBM, media_type="video/webm")
        if path == "/raw":  # body and Content-Length chosen by the test
            body = self.video + b"\x00" * int(q.get("pad", "0"))
            return Response(body, headers={"content-length": q["cl"]} if "cl" in q else None)
        if path == "/chunked":  # no Content-Length at all
            return StreamingResponse(_chunks(self.video, int(q.get("pad", "0"))), media_type="video/mp4")
        if path == "/html":
            return Response(b"<!DOCTYPE html><html><body>Access denied</body></html>" * 4, media_type="video/mp4")
        if path == "/json":
            return Response(b'{"error": {"message": "expired"}}' + b" " * 64, media_type="video/mp4")
        if path == "/png":
            return Response(PNG, media_type="video/mp4")
        if path == "/avif":
            return Response(AVIF, media_type="video/mp4")
        if path == "/tiny":
            return Response(b"\x00\x00\x00", media_type="video/mp4")
        if path.startswith("/status/"):
            return Response(b"gone", status_code=int(path.rsplit("/", 1)[1]))
        if path == "/redirect" and "to" in q:  # raw UTF-8 bytes, as a careless server would send them
            response = Response(status_code=int(q.get("code", "302")))
            response.raw_headers.append((b"location", q["to"].encode("utf-8", "surrogateescape")))
            return response
        if path == "/loop":
            return Response(status_code=302, headers={"location": "/loop"})
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            return Response(status_code=307, headers={"location": f"/hops/{left - 1}" if left else "/video.mp4"})
        return Response(b"not here", status_code=404)


async def _chunks(video: bytes, pad: int) -> AsyncIterator[bytes]:
    yield video
    for _ in range(pad // 4096):
        await asyncio.sleep(0)
        yield b"\x00" * 4096


def fake_resolver(table: dict[str, list[str]]):
    """A resolver answering from `table`; unknown names fail like NXDOMAIN. Records every lookup."""

    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError(-2, "Name or service not known")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


PUBLIC_IP = "93.184.216.34"
PUBLIC_TABLE = {"cdn.example.com": [PUBLIC_IP], "cdn2.example.com": ["2606:2800:220:1:248:1893:25c8:1946"]}


def tree(root: Path) -> set[str]:
    """Every path under root (relative), to prove nothing else was written."""
    return {str(Path(d, f).relative_to(root)) for d, dirs, files in os.walk(root) for f in [*dirs, *files]}


def parts_left(root: Path) -> list[str]:
    return [p for p in tree(root) if p.endswith(".part")]


HOSTILE_URLS = [
    "file:///etc/passwd", "ftp://example.com/a.mp4", "gopher://example.com/", "javascript:alert(1)", "data:,x",
    "ws://example.com/", "//example.com/a.mp4", "example.com/a.mp4", "", "http://", "http:///x", "http:/x",
    "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://017700000001/", "http://0177.0.0.1/",
    "http://127.1/", "http://127.0.1/", "http://127.0.0.1./", "http://0/", "http://10.0.0.1/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[fe80::1%25eth0]/", "http://[::]/", "http://evil@127.0.0.1/", "http://user:pass@example.com/",
    "http://example.com\\@127.0.0.1/", "http://exa mple.com/", "http://ex%41mple.com/", "http://example.com:0/",
    "http://example.com:99999/", "http://exa\tmple.com/", "http://example.com/\r\nX-Injected: 1",
    "http://localhost./", "http://localhost/", "http://metadata.google.internal/", "http://169.254.169.254/",
    "https://①②⑦.0.0.1/", "http://[fd00::1]:8080/", "http://0x7f.0x0.0x0.0x1/", "http://1.2.3.4.5/",
    "http://127。0。0。1/", "http://０x7f.1/", "http://%31%32%37.0.0.1/", "http://127.0.0.1#@example.com/",
    "http://1.1.1.1:80@127.0.0.1/", "http://[::ffff:0:127.0.0.1]/", "http://[::ffff:127.0.0.1%25x]/",
]
# What a real resolver would answer for the names in HOSTILE_URLS (no network in tests).
LOCAL_NAMES = {**PUBLIC_TABLE, "localhost.": ["127.0.0.1"], "localhost": ["::1", "127.0.0.1"],
               "metadata.google.internal": ["169.254.169.254"], "example.com": ["93.184.216.34"]}


# Private IPv4 addresses, for generating hostile hosts.
private_v4 = st.sampled_from(["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                              "0.0.0.0/8", "100.64.0.0/10", "224.0.0.0/4", "240.0.0.0/4"]).flatmap(
    lambda net: st.integers(0, ipaddress.ip_network(net).num_addresses - 1).map(
        lambda i, net=net: ipaddress.ip_network(net)[i]))


def spellings(ip: ipaddress.IPv4Address) -> list[str]:
    """inet_aton spellings of one IPv4 address that are not the canonical dotted-decimal form."""
    n, octets = int(ip), ip.packed
    return [str(n), hex(n), oct(n).replace("0o", "0"), ".".join(hex(o) for o in octets),
            ".".join(f"0{o:o}" for o in octets), f"{octets[0]}.{n & 0xFFFFFF}", f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",
            f"{ip}."]

