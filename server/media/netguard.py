"""SSRF guard for URLs this server fetches itself: scheme, host spelling, and every resolved address must be public.

Used by download.py for each redirect hop; the checked addresses are handed back so the caller connects to them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
import httpx2

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]  # (ascii host, port) -> IP address strings
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DNS_TIMEOUT = 10.0
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", re.ASCII)
_HEX_LABEL = re.compile(r"0x[0-9a-f]*", re.ASCII)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# IANA special-purpose ranges, listed because `is_global` differs between Python patch releases. 2002::/16 (6to4)
# and 2001::/32 (Teredo, inside 2001::/23) are refused whole: both can wrap any IPv4 address and no CDN uses them.
_BLOCKED = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/3", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8",
))
_PUBLIC_ONLY = "this server only downloads from public internet addresses"


class URLRefused(ValueError):
    """The URL may not be fetched. `code` is "unsafe_url", or "http" when the host simply could not be resolved."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """A checked URL. `connect`: the vetted addresses to connect to instead of re-resolving; empty = use the URL."""

    url: httpx2.URL
    connect: tuple[str, ...] = ()


async def system_resolver(host: str, port: int) -> list[str]:
    """All A/AAAA answers for host, resolved in a worker thread (anyio runs getaddrinfo off the event loop)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses; an IPv4 address wrapped in IPv6 is judged by itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d connects to a.b.c.d
            return is_public_address(ip.ipv4_mapped)
        if any(ip in net for net in _NAT64):  # DNS64 on IPv6-only hosts: the wrapped IPv4 address is the real peer
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if int(ip) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (and ::, ::1)
            return False
    if any(ip in net for net in _BLOCKED):
        return False
    # is_global alone is not enough on 3.11: it is True for multicast and for some reserved ranges.
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_reserved
    )


def printable(text: object, limit: int = 160) -> str:
    """Text as safe to echo in a message: control characters replaced, truncated."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact(url: object, limit: int = 120) -> str:
    """The URL as safe to echo: scheme, host, port and path only (no userinfo, query or fragment), printable."""
    raw = str(url)
    try:
        parsed = httpx2.URL(raw)
        host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
        port = f":{parsed.port}" if parsed.port is not None else ""
        text = f"{parsed.scheme}://{host}{port}{parsed.path}" if parsed.scheme else parsed.path
    except (httpx2.InvalidURL, TypeError, ValueError):
        text = re.sub(r"//[^/@]*@", "//", re.split(r"[?#]", raw, maxsplit=1)[0])
    return printable(text, limit)


def parse_url(raw: object) -> httpx2.URL:
    """Parse and vet the spelling of a URL (no DNS). Raises URLRefused with an agent-facing reason."""
    if isinstance(raw, httpx2.URL):
        raw = str(raw)
    if not isinstance(raw, str) or not raw or len(raw) > 8192:
        raise URLRefused("unsafe_url", "the video URL is empty, too long or not text")
    shown = redact(raw)
    if any(not ch.isprintable() or ch.isspace() for ch in raw):
        raise URLRefused("unsafe_url", f"{shown} contains spaces or control characters; it is not a usable URL")
    try:
        url = httpx2.URL(raw)
        port = url.port
    except (httpx2.InvalidURL, ValueError) as exc:
        raise URLRefused("unsafe_url", f"{shown} is not a valid URL ({printable(exc, 80)})") from exc
    if url.scheme not in ("http", "https"):
        raise URLRefused("unsafe_url", f"{shown}: only http and https URLs can be downloaded")
    if url.userinfo:
        raise URLRefused("unsafe_url", f"{shown}: URLs with a user name or password before '@' are not fetched")
    if not url.host:
        raise URLRefused("unsafe_url", f"{shown} has no host name")
    if port is not None and not 0 < port < 65536:
        raise URLRefused("unsafe_url", f"{shown} has an invalid port")
    host_kind(url)  # raises on odd host spellings
    return url


def host_kind(url: httpx2.URL) -> IPAddress | str:
    """The host as an IP address (literal) or an ASCII host name; refuses spellings that parsers disagree on."""
    host = url.host
    shown = redact(url)
    if ":" in host:  # IPv6 literal; httpx keeps a zone id as %25<zone>
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%", 1))
        except ValueError as exc:
            raise URLRefused("unsafe_url", f"{shown} has an invalid IPv6 address") from exc
    name = url.raw_host.decode("ascii", "replace").lower()
    labels = name.rstrip(".").split(".")
    # WHATWG: a host whose last label is numeric is an IPv4 address; inet_aton also reads 127.1, 0x7f.1, 2130706433,
    # 0177.0.0.1 as loopback. Only the canonical dotted-decimal form is accepted, so every parser agrees.
    if labels[-1].isdigit() or _HEX_LABEL.fullmatch(labels[-1]):
        try:
            ip = ipaddress.IPv4Address(name)
        except ValueError:
            ip = None
        if ip is None or str(ip) != name:
            raise URLRefused("unsafe_url", f"{shown}: write IPv4 addresses in plain dotted form (a.b.c.d)")
        return ip
    if not _HOSTNAME.fullmatch(name):
        raise URLRefused("unsafe_url", f"{shown} has characters that are not allowed in a host name")
    return name


async def check_url(
    raw: object,
    *,
    allow_private: bool,
    trusted_hosts: frozenset[str],
    resolver: Resolver | None = None,
) -> Target:
    """Vet one URL (one redirect hop). Trusted hosts (exact match) and allow_private skip the address check."""
    url = parse_url(raw)
    kind = host_kind(url)
    shown = redact(url)
    host = url.raw_host.decode("ascii", "replace").lower()
    if host in {h.lower().strip("[]") for h in trusted_hosts} or allow_private:
        return Target(url)
    if not isinstance(kind, str):
        if not is_public_address(kind):
            raise URLRefused("unsafe_url", f"{shown} points to a private or reserved address; {_PUBLIC_ONLY}")
        return Target(url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with anyio.fail_after(DNS_TIMEOUT):
            answers = list(await (resolver or system_resolver)(kind, port))
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise URLRefused("http", f"could not resolve the host of {shown}; check the URL or try again later") from exc
    addresses: list[str] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError as exc:
            raise URLRefused("unsafe_url", f"{shown} resolved to something that is not an IP address") from exc
        if not is_public_address(ip):
            raise URLRefused("unsafe_url", f"{shown} resolves to a private or reserved address ({ip}); {_PUBLIC_ONLY}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise URLRefused("http", f"the host of {shown} has no addresses; check the URL or try again later")
    return Target(url, tuple(addresses))
