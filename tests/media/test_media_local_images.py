"""Local image inputs: which strings are paths, folder confinement, symlinks, sizes, magic bytes, data: URIs."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.media.images import is_local_path, load_local_image
from server.media.download import MediaError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@pytest.mark.parametrize(("value", "local"), [
    ("/home/me/cat.png", True), ("~/cat.png", True), ("./cat.png", True), ("../cat.png", True),
    ("file:///home/me/cat.png", True), ("FILE:///x.png", True), ("C:\\Users\\me\\cat.png", True),
    ("C:/Users/me/cat.png", True), ("\\Users\\me\\cat.png", True), ("file:///C:/Users/me/cat.png", True),
    ("https://example.com/cat.png", False), ("HTTP://example.com/cat.png", False), ("data:image/png;base64,AA", False),
    ("cat.png", False), ("", False), ("   ", False), ("ftp://example.com/x.png", False),
])
def test_is_local_path(value, local):
    assert is_local_path(value) is local


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    return folder


def decode(ref) -> tuple[str, bytes]:
    header, _, payload = ref.url.partition(",")
    return header, base64.b64decode(payload)


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"),
                                            (WEBP, "image/webp")])
def test_inside_the_allowed_folder_becomes_a_data_uri(allowed, data, mime):
    path = allowed / "picture.txt"  # the extension does not matter, the bytes do
    path.write_bytes(data)
    header, raw = decode(load_local_image(str(path), allowed_dirs=[allowed]))
    assert header == f"data:{mime};base64" and raw == data


def test_file_url_and_home_expansion(allowed, monkeypatch):
    (allowed / "a b.png").write_bytes(PNG)
    assert decode(load_local_image((allowed / "a b.png").as_uri(), allowed_dirs=[allowed]))[1] == PNG
    monkeypatch.setenv("HOME", str(allowed))
    assert decode(load_local_image("~/a b.png", allowed_dirs=[Path("~")]))[1] == PNG
    with pytest.raises(MediaError) as info:
        load_local_image("file://otherhost/a.png", allowed_dirs=[allowed])
    assert info.value.code == "unsafe_path"


def test_outside_the_allowed_folders(tmp_path, allowed):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    for value in (str(secret), f"{allowed}/../secret.png"):
        with pytest.raises(MediaError) as info:
            load_local_image(value, allowed_dirs=[allowed])
        assert info.value.code == "unsafe_path"
        assert "outside the folders this server may read" in str(info.value)
        assert str(allowed) in str(info.value) and "VIDEOGEN_INPUT_DIRS" in str(info.value)


def test_symlink_escaping_the_allowed_folder(tmp_path, allowed):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    (allowed / "innocent.png").symlink_to(secret)
    (allowed / "dir").symlink_to(tmp_path, target_is_directory=True)
    for value in (allowed / "innocent.png", allowed / "dir" / "secret.png"):
        with pytest.raises(MediaError) as info:
            load_local_image(str(value), allowed_dirs=[allowed])
        assert info.value.code == "unsafe_path"


def test_symlinks_inside_and_a_symlinked_allowed_folder_are_fine(tmp_path, allowed):
    (allowed / "real.png").write_bytes(PNG)
    (allowed / "alias.png").symlink_to(allowed / "real.png")
    (tmp_path / "via").symlink_to(allowed, target_is_directory=True)
    assert decode(load_local_image(str(allowed / "alias.png"), allowed_dirs=[allowed]))[1] == PNG
    assert decode(load_local_image(str(allowed / "real.png"), allowed_dirs=[tmp_path / "via"]))[1] == PNG


@pytest.mark.parametrize("data", [b"<html>not an image</html>", b"%PDF-1.7", b"\x00\x00\x00\x18ftypisom", b"GIF8",
                                  b"RIFF\x00\x00\x00\x00WAVE", b"x"])
def test_wrong_magic_bytes(allowed, data):
    path = allowed / "fake.png"
    path.write_bytes(data)
    with pytest.raises(MediaError) as info:
        load_local_image(str(path), allowed_dirs=[allowed])
    assert info.value.code == "bad_image" and "PNG, JPEG, WebP or GIF" in str(info.value)


def test_too_large_is_refused_before_reading(allowed, monkeypatch):
    path = allowed / "huge.png"
    with open(path, "wb") as fh:  # sparse 2 GB file: reading it would be slow and obvious
        fh.write(PNG)
        fh.truncate(2 * 1024**3)
    monkeypatch.setattr(os, "read", lambda *a: pytest.fail("read a file that is known to be too large"))
    with pytest.raises(MediaError) as info:
        load_local_image(str(path), allowed_dirs=[allowed])
    assert info.value.code == "bad_image" and "10 MB" in str(info.value)


def test_size_limit_and_empty_file(allowed):
    (allowed / "big.png").write_bytes(PNG + b"\x00" * 100)
    with pytest.raises(MediaError):
        load_local_image(str(allowed / "big.png"), allowed_dirs=[allowed], max_bytes=100)
    assert load_local_image(str(allowed / "big.png"), allowed_dirs=[allowed], max_bytes=len(PNG) + 100)
    (allowed / "empty.png").write_bytes(b"")
    with pytest.raises(MediaError) as info:
        load_local_image(str(allowed / "empty.png"), allowed_dirs=[allowed])
    assert info.value.code == "bad_image"


@pytest.mark.posix_only
def test_directories_devices_and_fifos(allowed):
    os.mkfifo(allowed / "pipe.png")
    (allowed / "folder.png").mkdir()
    cases = [(allowed / "pipe.png", [allowed]), (allowed / "folder.png", [allowed]),
             (Path("/dev/zero"), [Path("/dev")])]
    for path, dirs in cases:
        with pytest.raises(MediaError) as info:  # a FIFO must not block: it is refused before being opened
            load_local_image(str(path), allowed_dirs=dirs)
        assert info.value.code == "bad_image" and "not a regular file" in str(info.value)


def test_missing_and_malformed_paths(allowed):
    for value, code in ((str(allowed / "nope.png"), "not_found"), (f"{allowed}/a\x00.png", "unsafe_path"),
                        ("https://example.com/x.png", "unsafe_path"), ("", "unsafe_path")):
        with pytest.raises(MediaError) as info:
            load_local_image(value, allowed_dirs=[allowed])
        assert info.value.code == code


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_names_never_escape(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("img")
    allowed = root / "allowed"
    allowed.mkdir(exist_ok=True)
    (root / "secret.png").write_bytes(PNG)
    try:
        ref = load_local_image(f"{allowed}/{name}", allowed_dirs=[allowed])
    except MediaError as exc:
        assert str(exc).isprintable()
        return
    pytest.fail(f"read {name!r} from an empty allowed folder: {ref.url[:40]}")
