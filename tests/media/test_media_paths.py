"""Hypothesis: hostile file stems, URLs and redirect targets never write outside the download folder."""

from __future__ import annotations

import re
import tempfile
import urllib.parse
from pathlib import Path

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media_fakes import (HOSTILE_URLS, LOCAL_NAMES, PUBLIC_TABLE, Origin, fake_resolver, parts_left, private_v4,
                         spellings, tree, video_bytes)

from server.media.download import MediaError, download_video

SAFE_STEM = re.compile(r"[A-Za-z0-9_-]{1,80}")
CASES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE_STEMS = ["..", ".", "../x", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "a\x00b", "\x00", "", " ",
                 "a" * 81, "ü", "vidéo", "a.b", "~", "~/x", "C:\\x", "con.mp4", "x\n", "-" * 81, "١٢٣",
                 "ａｂｃ"]


def run_download(url: str, stem: str, **kw) -> tuple[Path | MediaError, set[str], Origin]:
    """One download into <tmp>/videos, next to an `outside` sentinel; returns the outcome and the tmp tree."""
    origin = Origin(video_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside").write_bytes(b"sentinel")

        async def go():
            transport = httpx2.ASGITransport(app=origin.app)
            async with httpx2.AsyncClient(transport=transport, timeout=5) as client:
                return await download_video(client, url, dest_dir=root / "videos", stem=stem,
                                            resolver=fake_resolver(LOCAL_NAMES), **kw)

        try:
            outcome: Path | MediaError = anyio.run(go)
        except MediaError as exc:
            outcome = exc
        seen = tree(root)
        assert (root / "outside").read_bytes() == b"sentinel"
        assert not parts_left(root)
        if isinstance(outcome, Path):
            assert outcome.parent == (root / "videos").resolve()
    return outcome, seen, origin


def assert_refused(outcome, seen: set[str], *codes: str) -> None:
    assert isinstance(outcome, MediaError), outcome
    assert outcome.code in codes, str(outcome)
    assert seen <= {"outside", "videos"}, seen  # nothing but (perhaps) the empty download folder
    assert str(outcome).isprintable()


hostile_stems = st.one_of(
    st.sampled_from(HOSTILE_STEMS),
    st.text(max_size=100).filter(lambda s: not SAFE_STEM.fullmatch(s)),
    st.tuples(st.sampled_from(["../", "/", "..\\", "a/../", "\x00", "./"]), st.text(max_size=20)).map("".join),
)


@CASES
@given(hostile_stems)
def test_hostile_stems_are_refused_before_anything_is_written(stem):
    outcome, seen, origin = run_download("https://cdn.example.com/video.mp4", stem)
    assert_refused(outcome, seen, "unsafe_path")
    assert seen == {"outside"} and origin.log == []


@CASES
@given(st.from_regex(SAFE_STEM, fullmatch=True))
def test_generated_stems_land_inside_the_folder(stem):
    outcome, seen, _ = run_download("https://cdn.example.com/video.mp4", stem)
    assert isinstance(outcome, Path) and seen == {"outside", "videos", f"videos/{stem}.mp4"}


hostile_urls = st.one_of(
    st.sampled_from(HOSTILE_URLS),
    private_v4.flatmap(lambda ip: st.sampled_from([str(ip), *spellings(ip), f"[::ffff:{ip}]"])).map(
        lambda host: f"http://{host}/video.mp4"),
    st.tuples(st.sampled_from(["file", "ftp", "gopher", "dict", "ldap", "jar", "netdoc", "HTTP+unix", "ws"]),
              st.text(max_size=20)).map(lambda p: f"{p[0]}://{p[1]}"),
)


@CASES
@given(hostile_urls)
def test_hostile_urls_are_refused_without_a_request(url):
    outcome, seen, origin = run_download(url, "task_1")
    assert_refused(outcome, seen, "unsafe_url")
    assert origin.log == []


# As a Location these three are relative references back to the (public) origin, so they are not hostile there.
hostile_locations = hostile_urls.filter(lambda u: u not in ("", "example.com/a.mp4", "//example.com/a.mp4"))


@CASES
@given(hostile_locations)
def test_hostile_redirect_targets_are_refused_at_the_hop(location):
    quoted = urllib.parse.quote(location, safe="")
    outcome, seen, origin = run_download(f"https://cdn.example.com/redirect?to={quoted}", "task_1")
    assert_refused(outcome, seen, "unsafe_url", "http")
    assert len(origin.log) == 1


@CASES
@given(st.text(max_size=40))
def test_any_redirect_target_is_refused_or_checked(location):
    quoted = urllib.parse.quote(location, safe="")
    outcome, seen, origin = run_download(f"https://cdn.example.com/redirect?to={quoted}", "task_1")
    if isinstance(outcome, MediaError):
        assert_refused(outcome, seen, "unsafe_url", "http", "expired", "not_video")
    for server, *_ in origin.log:  # every request went to a vetted public address
        assert server in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")


def test_symlinked_download_folder_writes_to_its_target(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real, target_is_directory=True)

    async def go():
        transport = httpx2.ASGITransport(app=Origin(video_bytes()).app)
        async with httpx2.AsyncClient(transport=transport) as client:
            return await download_video(client, "https://cdn.example.com/video.mp4", dest_dir=link, stem="v",
                                        resolver=fake_resolver(PUBLIC_TABLE))

    path = anyio.run(go)
    assert path == real.resolve() / "v.mp4" and tree(tmp_path) == {"real", "link", "real/v.mp4"}


@pytest.mark.parametrize("stem", HOSTILE_STEMS)
def test_each_listed_hostile_stem(stem):
    outcome, seen, _ = run_download("https://cdn.example.com/video.mp4", stem)
    assert_refused(outcome, seen, "unsafe_path")
