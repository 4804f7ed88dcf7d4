"""Windows, macOS and Linux file handling, each branch driven by its platform facts (so all run on any machine)."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from server.media import files


def test_replace_retries_while_a_player_holds_the_file_on_windows(tmp_path):
    src, dst = tmp_path / "a.part", tmp_path / "a.mp4"
    src.write_bytes(b"new")
    dst.write_bytes(b"old")
    held, sleeps = [3], []

    def rename(a, b):  # Windows: ERROR_ACCESS_DENIED while another program has b open
        if held[0]:
            held[0] -= 1
            raise PermissionError(errno.EACCES, "Access is denied", str(b))
        os.replace(a, b)

    files.replace(src, dst, windows=True, rename=rename, sleep=sleeps.append)
    assert dst.read_bytes() == b"new" and not src.exists()
    assert len(sleeps) == 3 and sleeps == sorted(sleeps)  # backing off
    assert sum(0.02 * 2**i for i in range(files.REPLACE_ATTEMPTS - 1)) < 3  # bounded: the call's wait is too


def test_replace_gives_up_with_a_clear_error_when_the_file_stays_open(tmp_path):
    def rename(a, b):
        raise PermissionError(errno.EACCES, "Access is denied", str(b))

    sleeps = []
    with pytest.raises(files.FileInUse, match="open in another program"):
        files.replace(tmp_path / "a", tmp_path / "b", windows=True, rename=rename, sleep=sleeps.append)
    assert len(sleeps) == files.REPLACE_ATTEMPTS - 1


def test_replace_does_not_retry_a_real_permission_error_on_posix(tmp_path):
    calls = []

    def rename(a, b):
        calls.append(a)
        raise PermissionError(errno.EACCES, "Permission denied", str(b))

    with pytest.raises(PermissionError) as caught:
        files.replace(tmp_path / "a", tmp_path / "b", windows=False, rename=rename, sleep=calls.append)
    assert not isinstance(caught.value, files.FileInUse) and len(calls) == 1


@pytest.mark.skipif(os.name != "posix", reason="a folder cannot be opened for fsync on Windows")
def test_folder_fsync_runs_on_posix_and_is_skipped_elsewhere(tmp_path):
    files.fsync_dir(tmp_path, posix=True)
    files.fsync_dir(tmp_path / "missing", posix=False)  # skipped: never touches the path
    with pytest.raises(OSError):
        files.fsync_dir(tmp_path / "missing", posix=True)


def test_read_flags_use_o_nofollow_only_where_it_exists():
    flags, nofollow = files.read_flags(available=[])
    assert not nofollow and flags == os.O_RDONLY
    if hasattr(os, "O_NOFOLLOW"):
        flags, nofollow = files.read_flags(available=["O_NOFOLLOW", "O_NONBLOCK"])
        assert nofollow and flags & os.O_NOFOLLOW and flags & os.O_NONBLOCK


@pytest.mark.parametrize("kernel_nofollow", [True, False])
def test_a_link_swapped_in_after_the_check_is_refused_with_or_without_o_nofollow(tmp_path, kernel_nofollow):
    if kernel_nofollow and not hasattr(os, "O_NOFOLLOW"):
        pytest.skip("no O_NOFOLLOW here")
    available = None if kernel_nofollow else []  # [] plays Windows: the lstat check stands in for O_NOFOLLOW
    image, other = tmp_path / "a.png", tmp_path / "secret"
    image.write_bytes(b"png")
    other.write_bytes(b"secret")
    checked = image.stat()
    os.close(files.open_checked(image, checked, available=available))  # unchanged: opens
    image.rename(tmp_path / "kept")  # kept, so its inode number cannot be reused by what comes next
    try:
        image.symlink_to(other)
    except OSError:
        pytest.skip("cannot create symlinks here (Windows without developer mode)")
    with pytest.raises(OSError):  # ELOOP from the kernel, or FileChanged from the lstat check
        os.close(files.open_checked(image, checked, available=available))
    image.unlink()
    image.write_bytes(b"another file in its place")
    with pytest.raises(files.FileChanged):
        os.close(files.open_checked(image, checked, available=available))


@pytest.mark.parametrize("path, roots, expected", [
    (r"C:\Users\Ana\Pictures\a.png", [r"C:\Users\Ana"], True),
    (r"c:\users\ana\pictures\a.png", [r"C:\Users\Ana"], True),  # NTFS ignores case, drive letters too
    (r"C:\Users\Ana\Pictures\a.png", ["c:/users/ana/"], True),
    (r"D:\Users\Ana\a.png", [r"C:\Users\Ana"], False),  # same folders, another drive
    (r"C:\Users\Anastasia\a.png", [r"C:\Users\Ana"], False),  # a prefix of the name is not the folder
    (r"\\server\share\a.png", [r"C:\Users\Ana"], False),
    (r"C:\Users\Ana\a.png", [r"D:\media", r"C:\Users\Ana"], True),
])
def test_the_input_folder_check_on_windows(path, roots, expected):
    assert files.is_within(path, roots, windows=True) is expected


def test_the_input_folder_check_on_case_insensitive_and_case_sensitive_posix_volumes():
    roots = ["/Users/ana/Pictures"]
    assert files.is_within("/users/ana/pictures/a.png", roots, windows=False, case_insensitive=True)  # macOS
    assert not files.is_within("/users/ana/pictures/a.png", roots, windows=False, case_insensitive=False)  # Linux
    assert files.is_within("/Users/ana/Pictures/a.png", roots, windows=False, case_insensitive=False)
    assert not files.is_within("/Users/ana/PicturesX/a.png", roots, windows=False, case_insensitive=True)


def test_case_sensitivity_is_probed_on_posix_and_assumed_on_windows(tmp_path):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    assert files.case_insensitive_at(folder, windows=True)
    swapped = Path(str(folder).swapcase())
    expected = swapped.exists() and os.path.samefile(folder, swapped)  # what this machine's volume does
    assert files.case_insensitive_at(folder, windows=False) is expected
    if sys.platform == "linux":
        assert not files.case_insensitive_at(folder, windows=False)
    assert not files.case_insensitive_at(Path("/"), windows=False)  # nothing to swap: strict


@pytest.mark.parametrize("url, windows, expected", [
    ("file:///C:/Users/x/a.png", True, r"C:\Users\x\a.png"),
    ("file:///c:/Users/x/my%20photo.png", True, r"C:\Users\x\my photo.png"),
    ("file://localhost/C:/Users/x/a.png", True, r"C:\Users\x\a.png"),
    ("file:C:/Users/x/a.png", True, r"C:\Users\x\a.png"),
    ("file:///C|/Users/x/a.png", True, r"C:\Users\x\a.png"),
    ("file:///home/x/a%20b.png", False, "/home/x/a b.png"),
    ("file://localhost/home/x/a.png", False, "/home/x/a.png"),
    ("file://fileserver/share/a.png", True, None),  # another machine
    ("file://fileserver/home/a.png", False, None),
])
def test_file_urls_with_and_without_drive_letters(url, windows, expected):
    assert files.file_url_path(url, windows=windows) == expected
