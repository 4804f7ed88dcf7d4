"""What differs between Linux, macOS and Windows when saving videos and reading local images.

Each function takes the platform facts as arguments (defaults: this machine), so tests on one platform drive the
logic of all three.
"""

from __future__ import annotations

import ntpath
import os
import re
import stat
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

WINDOWS = sys.platform == "win32"
POSIX = os.name == "posix"  # Linux and macOS: file modes mean something, directories can be fsynced

REPLACE_ATTEMPTS = 8  # ~2.5 s in all: long enough for a player that is closing, short enough for a bounded call


class FileInUse(OSError):
    """The target of a rename stayed open in another program (Windows refuses to replace an open file)."""


def replace(src: str | Path, dst: str | Path, *, windows: bool = WINDOWS, attempts: int = REPLACE_ATTEMPTS,
            delay: float = 0.02, rename: Callable[[str | Path, str | Path], None] = os.replace,
            sleep: Callable[[float], None] = time.sleep) -> None:
    """os.replace, retried on Windows while a video player (or a virus scanner) holds the target open."""
    for attempt in range(attempts):
        try:
            rename(src, dst)
            return
        except PermissionError as exc:
            if not windows:  # on POSIX a rename never fails for an open file: this is a real permission problem
                raise
            if attempt == attempts - 1:
                raise FileInUse(exc.errno, f"{dst} is open in another program (a video player?)") from exc
            sleep(delay * 2**attempt)


def fsync_dir(folder: str | Path, *, posix: bool = POSIX) -> None:
    """Persist a rename in folder. POSIX only: Windows cannot open a folder for fsync (NTFS journals the rename)."""
    if not posix:
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_flags(available: Iterable[str] | None = None) -> tuple[int, bool]:
    """Flags for reading a local input, and whether the kernel itself refuses a symlink (O_NOFOLLOW: Linux,
    macOS). Where it does not exist (Windows), the caller checks with lstat before opening: see `open_checked`."""
    names = set(dir(os)) if available is None else set(available)
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_BINARY"):  # a FIFO swapped in does not block; no newline translation
        if name in names:
            flags |= getattr(os, name, 0)
    nofollow = "O_NOFOLLOW" in names and hasattr(os, "O_NOFOLLOW")
    return flags | (os.O_NOFOLLOW if nofollow else 0), nofollow


def open_checked(path: str | Path, expected: os.stat_result, *, available: Iterable[str] | None = None) -> int:
    """Open a regular file only if it is still the one that was checked (same device and inode, not a link).
    Raises OSError, or FileChanged when something was swapped in."""
    flags, kernel_nofollow = read_flags(available)
    if not kernel_nofollow:  # the equivalent check: no link now, and the same file once open (below)
        now = os.lstat(path)
        if stat.S_ISLNK(now.st_mode) or getattr(now, "st_reparse_tag", False):  # symlink, junction or other reparse
            raise FileChanged(path)
    fd = os.open(path, flags)
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (expected.st_dev, expected.st_ino) or not stat.S_ISREG(now.st_mode):
            raise FileChanged(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


class FileChanged(OSError):
    """The file was replaced (by a link, a pipe or another file) between the check and the open."""


def is_within(path: str, roots: Iterable[str], *, windows: bool = WINDOWS, case_insensitive: bool = False) -> bool:
    """Whether an absolute, resolved path lies in one of the roots. Windows paths compare with drive letters and
    without case (as NTFS does); case_insensitive folds case for POSIX volumes that ignore it (macOS by default)."""
    pure: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    fold = (lambda p: pure(str(p).casefold())) if case_insensitive and not windows else pure
    target = fold(path)
    return any(target.is_relative_to(fold(root)) for root in roots)


def case_insensitive_at(folder: Path, *, windows: bool = WINDOWS) -> bool:
    """Whether the volume holding folder ignores case: always on Windows; on POSIX, probed (macOS is by default,
    a case-sensitive APFS volume or Linux is not). A folder without letters is taken as case-sensitive."""
    if windows:
        return True
    swapped = str(folder).swapcase()
    if swapped == str(folder):
        return False
    try:
        return os.path.samefile(folder, swapped)
    except OSError:
        return False


_DRIVE_URL = re.compile(r"/?[A-Za-z][:|](/|$)")  # /C:/..., C:/..., and the old /C|/... form


def file_url_path(url: str, *, windows: bool = WINDOWS) -> str | None:
    """The local path a file: URL names (file:///home/x/a.png, file:///C:/Users/x/a.png), or None when it names
    another machine (file://server/share/...)."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc.lower() not in ("", "localhost"):
        return None
    path = urllib.parse.unquote(parts.path)
    if not windows:
        return path
    if _DRIVE_URL.match(path):
        path = path.lstrip("/")
        path = path[0].upper() + ":" + path[2:]
    return ntpath.normpath(path.replace("/", "\\"))
