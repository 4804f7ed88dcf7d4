"""URL and address policy (server.media.netguard): table tests plus hypothesis-generated hostile URLs and addresses."""

from __future__ import annotations

import ipaddress

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media_fakes import HOSTILE_URLS, LOCAL_NAMES, fake_resolver, private_v4, spellings

from server.media.netguard import URLRefused, check_url, is_public_address, parse_url, redact, system_resolver

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "192.0.0.8", "198.18.0.1", "224.0.0.1", "233.252.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1",
    "ff0e::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "::10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b::7f00:1",
    "64:ff9b::a00:1", "100::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address):
    assert is_public_address(ipaddress.ip_address(address))


def run_check(url, **kw):
    kw.setdefault("allow_private", False)
    kw.setdefault("trusted_hosts", frozenset())
    kw.setdefault("resolver", fake_resolver(LOCAL_NAMES))
    return anyio.run(lambda: check_url(url, **kw))


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused(url):
    with pytest.raises(URLRefused) as info:
        run_check(url)
    assert info.value.code == "unsafe_url" and str(info.value).isprintable()
    assert "pass@" not in str(info.value) and "\r" not in str(info.value)


def test_numeric_spellings_are_refused_even_when_private_urls_are_allowed():
    for url in ("http://2130706433/", "http://0x7f.1/", "http://127.1/"):
        with pytest.raises(URLRefused):
            run_check(url, allow_private=True)


def test_public_urls_pass_with_their_checked_addresses():
    target = run_check("https://example.com/v.mp4?sig=1")
    assert target.connect == ("93.184.216.34",) and target.url.host == "example.com"
    assert run_check("http://8.8.8.8/v.mp4").connect == ()  # an IP literal is already the address


def test_system_resolver_refuses_localhost():
    try:
        answers = anyio.run(system_resolver, "localhost", 80)
    except OSError:
        pytest.skip("no local resolver for localhost")
    assert answers
    with pytest.raises(URLRefused):
        run_check("http://localhost/", resolver=None)


def test_redact_drops_credentials_query_and_fragment():
    signed = "https://u:p@cdn.example.com:8443/a/b.mp4?X-Amz-Signature=s#f"
    assert redact(signed) == "https://cdn.example.com:8443/a/b.mp4"
    assert redact("weird://u:p@host/x?token=1") == "weird://host/x"
    assert "token" not in redact("not a url ?token=1") and redact("a\x00b") == "a?b"


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(ip=private_v4, scheme=st.sampled_from(["http", "https"]), data=st.data())
def test_private_ipv4_in_any_spelling_or_wrapping_is_refused(ip, scheme, data):
    v6 = [f"::ffff:{ip}", f"::{ip}", str(ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80))),
          f"64:ff9b::{ip}"]
    host = data.draw(st.sampled_from([str(ip), *spellings(ip), *(f"[{a}]" for a in v6)]))
    with pytest.raises(URLRefused):
        run_check(f"{scheme}://{host}/video.mp4")


@FAST
@given(st.text(max_size=60) | st.from_regex(r"\A(https?|file|ftp)://[\w.:@\[\]%-]{0,30}/?\Z"),
       st.lists(st.ip_addresses(), min_size=1, max_size=3))
def test_any_input_is_refused_or_yields_only_public_addresses(raw, answers):
    async def resolver(host, port):
        return [str(a) for a in answers]

    try:
        target = run_check(raw, resolver=resolver)
    except URLRefused as exc:
        assert str(exc).isprintable()
        return
    assert target.url.scheme in ("http", "https") and not target.url.userinfo
    checked = target.connect or (target.url.host,)
    assert all(is_public_address(ipaddress.ip_address(a)) for a in checked)
    assert all(not ipaddress.ip_address(a).is_private for a in checked)


@FAST
@given(st.ip_addresses())
def test_literal_urls_follow_the_address_policy(ip):
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    try:
        run_check(f"http://{host}/x")
        allowed = True
    except URLRefused:
        allowed = False
    assert allowed == is_public_address(ip)
    if allowed:  # independent oracle: the ranges the MCP security guidance names
        blocked = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "::1/128",
                   "fc00::/7", "fe80::/10", "ff00::/8", "0.0.0.0/8", "224.0.0.0/4"]
        assert not any(ip in ipaddress.ip_network(n) for n in blocked if ipaddress.ip_network(n).version == ip.version)


def test_parse_url_accepts_ordinary_urls():
    for url in ("https://cdn.example.com/a.mp4?x=1", "http://example.com:8080/", "https://xn--xample-9ua.com/",
                "https://s3_bucket.example.com/v.mp4", "https://[2606:4700::1111]/v.mp4"):
        parse_url(url)
