"""download_video against an in-process fake origin: sizes, signatures, status codes, redirects, pinning, secrets."""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

import anyio
import httpx2
import pytest
from media_fakes import PUBLIC_IP, PUBLIC_TABLE, Origin, fake_resolver, parts_left, tree

from server.media import download as media
from server.media import files
from server.media.download import MediaError, download_video, video_mime

pytestmark = pytest.mark.anyio
CDN = "https://cdn.example.com"


async def fetch(client, url, dest: Path, **kw) -> Path:
    kw.setdefault("resolver", fake_resolver(PUBLIC_TABLE))
    return await download_video(client, url, dest_dir=dest, stem=kw.pop("stem", "task_1"), **kw)


async def refused(client, url, dest: Path, code: str, **kw) -> MediaError:
    with pytest.raises(MediaError) as info:
        await fetch(client, url, dest, **kw)
    assert info.value.code == code, str(info.value)
    assert not (dest.exists() and parts_left(dest)) and not (dest / "task_1.mp4").exists()
    return info.value


async def test_happy_path_writes_the_exact_bytes(client, mp4, tmp_path):
    dest = tmp_path / "videos"
    path = await fetch(client, f"{CDN}/video.mp4?sig=abc", dest)
    assert path == dest.resolve() / "task_1.mp4"
    assert path.read_bytes() == mp4 and video_mime(path) == "video/mp4"
    if os.name == "posix":  # Windows: no modes (Python 3.13+ turns 0o700 into an owner-only ACL instead)
        assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert tree(tmp_path) == {"videos", "videos/task_1.mp4"}


@pytest.mark.parametrize(("route", "name", "mime"), [("mov", "task_1.mov", "video/quicktime"),
                                                     ("webm", "task_1.webm", "video/webm")])
async def test_container_decides_the_extension(client, tmp_path, route, name, mime):
    path = await fetch(client, f"{CDN}/{route}", tmp_path)
    assert path.name == name and video_mime(path) == mime


async def test_download_connects_to_the_checked_address(client, origin: Origin, tmp_path):
    await fetch(client, f"{CDN}/video.mp4", tmp_path)
    server, host, _, headers = origin.log[-1]
    assert (server, host) == (PUBLIC_IP, "cdn.example.com")  # pinned: IP on the wire, the name in Host
    assert headers["accept-encoding"] == "identity" and headers["connection"] == "close"
    await fetch(client, "https://cdn2.example.com:8443/video.mp4", tmp_path, stem="v6")
    assert origin.log[-1][:2] == ("2606:2800:220:1:248:1893:25c8:1946", "cdn2.example.com:8443")


async def test_content_length_smaller_than_the_body_is_refused(client, tmp_path, mp4):
    err = await refused(client, f"{CDN}/raw?cl=100&pad=500", tmp_path, "http")
    assert "announced 100" in str(err)


async def test_content_length_smaller_than_a_body_over_the_cap(client, tmp_path, mp4):
    err = await refused(client, f"{CDN}/raw?cl=100&pad=100000", tmp_path, "too_large", max_bytes=len(mp4) + 1000)
    assert "VIDEOGEN_MAX_DOWNLOAD_MB" in str(err)


async def test_content_length_larger_than_the_body_is_refused(client, tmp_path, mp4):
    await refused(client, f"{CDN}/raw?cl={len(mp4) + 10}", tmp_path, "http")


async def test_announced_size_over_the_cap_stops_before_the_body(client, tmp_path):
    await refused(client, f"{CDN}/raw?cl=999999999999", tmp_path, "too_large", max_bytes=10_000)


async def test_chunked_body_within_and_over_the_cap(client, tmp_path, mp4):
    path = await fetch(client, f"{CDN}/chunked", tmp_path)
    assert path.read_bytes() == mp4
    path.unlink()
    await refused(client, f"{CDN}/chunked?pad=200000", tmp_path, "too_large", max_bytes=len(mp4) + 50_000)


@pytest.mark.parametrize(("route", "what"), [("html", "HTML"), ("json", "JSON"), ("png", "an image"),
                                             ("avif", "an image"), ("tiny", "not MP4")])
async def test_wrong_bytes_are_not_a_video_whatever_the_content_type(client, tmp_path, route, what):
    err = await refused(client, f"{CDN}/{route}", tmp_path, "not_video")
    assert "fresh URL" in str(err) and (what in str(err) or route == "avif")


@pytest.mark.parametrize("status", [403, 404, 410])
async def test_expired_link_answers(client, tmp_path, status):
    err = await refused(client, f"{CDN}/status/{status}?X-Amz-Signature=SECRET", tmp_path, "expired")
    assert err.expired and "fresh URL" in str(err) and "SECRET" not in str(err)


@pytest.mark.parametrize("status", [204, 400, 429, 500, 502])
async def test_other_statuses_are_http_errors(client, tmp_path, status):
    err = await refused(client, f"{CDN}/status/{status}", tmp_path, "http")
    assert not err.expired and str(status) in str(err)


HOSTILE_HOPS = [
    "http://127.0.0.1/latest", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/", "http://10.0.0.5/", "http://192.168.1.1/", "http://[fd00::1]/", "http://[fe80::1]/",
    "http://0.0.0.0/", "http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://127.1/",
    "file:///etc/passwd", "gopher://cdn.example.com/", "ftp://cdn.example.com/x", "http://evil@127.0.0.1/",
    "http://internal.example.com/", "http://[2002:7f00:1::]/", "http://[64:ff9b::a9fe:a9fe]/",
]


@pytest.mark.parametrize("to", HOSTILE_HOPS)
async def test_redirects_to_unsafe_places_are_refused_at_the_hop(client, origin: Origin, tmp_path, to):
    resolver = fake_resolver({**PUBLIC_TABLE, "internal.example.com": ["10.1.2.3"]})
    err = await refused(client, f"{CDN}/redirect?to={to}", tmp_path, "unsafe_url", resolver=resolver)
    assert len(origin.log) == 1  # the hostile hop was never requested
    assert str(err).isprintable() and "evil@" not in str(err)


async def test_redirect_loop_and_hop_limit(client, origin: Origin, tmp_path):
    err = await refused(client, f"{CDN}/loop", tmp_path, "http")
    assert "redirected more than" in str(err) and len(origin.log) == media.MAX_REDIRECTS + 1
    await refused(client, f"{CDN}/hops/{media.MAX_REDIRECTS}", tmp_path, "http")
    assert (await fetch(client, f"{CDN}/hops/{media.MAX_REDIRECTS - 2}", tmp_path)).exists()


async def test_redirect_without_location(client, tmp_path):
    await refused(client, f"{CDN}/status/302", tmp_path, "http")


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["10.0.0.1"], ["169.254.169.254"], ["fd12::1"], ["::ffff:10.0.0.1"],
                                     [PUBLIC_IP, "192.168.0.10"], ["100.64.0.1"], ["224.0.0.251"], ["fec0::1"]])
async def test_public_looking_names_resolving_to_private_addresses(client, origin, tmp_path, answers):
    resolver = fake_resolver({"videos.example.net": answers})
    await refused(client, "https://videos.example.net/video.mp4", tmp_path, "unsafe_url", resolver=resolver)
    assert origin.log == []


async def test_unresolvable_host_is_a_network_error(client, tmp_path):
    await refused(client, "https://nowhere.example.org/video.mp4", tmp_path, "http")


async def test_trusted_gateway_host_skips_the_address_check_but_its_redirects_do_not(client, tmp_path):
    resolver = fake_resolver({"gw.local": ["127.0.0.1"]})
    trusted = frozenset({"gw.local"})
    path = await fetch(client, "http://gw.local/video.mp4", tmp_path, stem="ok", trusted_hosts=trusted,
                       resolver=resolver)
    assert path.exists() and resolver.calls == []  # trusted: no lookup, the client routes it as configured
    await refused(client, "http://gw.local/redirect?to=http://10.0.0.1/x", tmp_path, "unsafe_url",
                  trusted_hosts=trusted, resolver=resolver)
    # exact match only: a sibling name or a trailing-dot spelling is checked like any URL
    for url in ("http://gw.local./video.mp4", "http://x.gw.local/video.mp4"):
        resolver = fake_resolver({"gw.local.": ["127.0.0.1"], "x.gw.local": ["127.0.0.1"]})
        await refused(client, url, tmp_path, "unsafe_url", trusted_hosts=trusted, resolver=resolver)


async def test_allow_private_reaches_loopback(client, tmp_path):
    assert (await fetch(client, "http://127.0.0.1:9/video.mp4", tmp_path, allow_private=True)).exists()


async def test_credentials_stay_with_the_origin(client, origin: Origin, tmp_path):
    auth = {"Authorization": "Bearer sk-SENTINEL"}
    to = "https://cdn2.example.com/video.mp4"
    await fetch(client, f"{CDN}/redirect?to={to}", tmp_path, headers=auth)
    assert origin.log[0][3]["authorization"] == "Bearer sk-SENTINEL"
    assert "authorization" not in origin.log[1][3]  # cross-origin hop: the gateway key is not forwarded
    err = await refused(client, "https://user:pw@cdn.example.com/status/500?key=sk-SENTINEL", tmp_path / "b",
                        "unsafe_url", headers=auth)
    assert "SENTINEL" not in str(err) and "pw" not in str(err)


async def test_existing_file_is_replaced_but_a_symlink_is_refused(client, mp4, tmp_path):
    dest, outside = tmp_path / "videos", tmp_path / "outside.txt"
    dest.mkdir()
    (dest / "task_1.mp4").write_bytes(b"old")
    assert (await fetch(client, f"{CDN}/video.mp4", dest)).read_bytes() == mp4
    (dest / "task_1.mp4").unlink()
    outside.write_bytes(b"keep")
    (dest / "task_1.mp4").symlink_to(outside)
    with pytest.raises(MediaError) as info:
        await fetch(client, f"{CDN}/video.mp4", dest)
    assert info.value.code == "unsafe_path" and outside.read_bytes() == b"keep" and not parts_left(tmp_path)


@pytest.mark.parametrize("closes_after", [2, None])
async def test_a_video_held_open_by_a_player_on_windows(client, mp4, tmp_path, monkeypatch, closes_after):
    """Windows refuses to replace a file another program has open: retried, then a clear error, no .part left."""
    dest = tmp_path / "videos"
    dest.mkdir()
    (dest / "task_1.mp4").write_bytes(b"old, playing")
    refusals = [0]

    def rename(src, dst):
        if closes_after is None or refusals[0] < closes_after:
            refusals[0] += 1
            raise PermissionError(13, "Access is denied", str(dst))
        os.replace(src, dst)

    monkeypatch.setattr(files, "replace", functools.partial(files.replace, windows=True, rename=rename,
                                                             sleep=lambda s: None))
    if closes_after is not None:  # the player let go during the retries
        assert (await fetch(client, f"{CDN}/video.mp4", dest)).read_bytes() == mp4
        assert refusals[0] == closes_after
    else:
        with pytest.raises(MediaError) as info:
            await fetch(client, f"{CDN}/video.mp4", dest)
        assert info.value.code == "disk" and "open in another program" in str(info.value)
        assert refusals[0] == files.REPLACE_ATTEMPTS
        assert (dest / "task_1.mp4").read_bytes() == b"old, playing"
    assert not parts_left(tmp_path)


async def test_unusable_download_folders(client, tmp_path):
    (tmp_path / "file").write_bytes(b"")
    for bad in (tmp_path / "file", tmp_path / "file" / "sub", Path(f"{tmp_path}/a\x00b")):
        with pytest.raises(MediaError) as info:
            await fetch(client, f"{CDN}/video.mp4", bad)
        assert info.value.code == "unsafe_path" and "VIDEOGEN_DOWNLOAD_DIR" in str(info.value)
    assert tree(tmp_path) == {"file"}


def _slow_client(first: bytes, delay: float) -> httpx2.AsyncClient:
    async def body():
        yield first
        while True:
            await anyio.sleep(delay)
            yield b"\x00" * 16

    return httpx2.AsyncClient(transport=httpx2.MockTransport(lambda request: httpx2.Response(200, content=body())))


async def test_overall_deadline_stops_a_trickling_body(monkeypatch, mp4, tmp_path):
    monkeypatch.setattr(media, "BASE_DEADLINE", 0.3)
    monkeypatch.setattr(media, "MIN_RATE", 1e12)
    async with _slow_client(mp4, 0.01) as client:
        with pytest.raises(MediaError) as info:
            await fetch(client, f"{CDN}/video.mp4", tmp_path)
    assert info.value.code == "http" and "took longer" in str(info.value)
    assert tree(tmp_path) == set()


async def test_cancellation_leaves_no_partial_file(mp4, tmp_path):
    async with _slow_client(mp4 * 300, 0.01) as client:  # > 1 MiB first chunk: a flush reaches the disk first
        with anyio.move_on_after(0.3) as scope:
            await fetch(client, f"{CDN}/video.mp4", tmp_path)
    assert scope.cancelled_caught and tree(tmp_path) == set()
    assert not any(name.startswith(".task_1") for name in os.listdir(tmp_path))


async def test_a_full_disk_is_reported_and_cleaned_up(client, monkeypatch, tmp_path):
    def full(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(media, "_write_all", full)
    err = await refused(client, f"{CDN}/video.mp4", tmp_path, "disk")
    assert "No space left" in str(err) and tree(tmp_path) == set()


def test_video_mime_of_unknown_and_missing_files(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"<html></html>")
    assert video_mime(tmp_path / "x.mp4") == "application/octet-stream"
    with pytest.raises(MediaError) as info:
        video_mime(tmp_path / "missing.mp4")
    assert info.value.code == "not_found"
