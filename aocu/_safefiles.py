"""Private directories and the files in them: what no other local user can have written.

Owns the rules shared by the files the CU trusts in directories that default to /tmp (where every
user can create names): compiled modules (`aocu.wasm._artifacts`), module binaries
(`aocu.stores._module_files`) and process-memory snapshots (`aocu.stores._memory_files`). A
directory is used only when it is a real directory (not a symlink) owned by the effective uid and
not writable by group or others; it is created 0o700 when missing. A file is read only when, on the
very fd it is read from, it is a regular file owned by us and not group/other-writable. Directories
are opened with O_NOFOLLOW and files opened relative to that fd, so the checked directory is the one
read from and written to (no check-then-use race on names). Files are written 0o600 to a fresh
temporary name and renamed over the final one.

Callers decide what a refusal means ("not cached", or for snapshots "a miss" / "not written") and
how to report it. Memory snapshots stream through `create_private_file` and fsync, where the
caches use `write_private_file`.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Final

__all__ = [
    "PrivateDir",
    "Refused",
    "create_private_file",
    "open_private_dir",
    "open_private_file",
    "read_cached",
    "read_private_file",
    "remove_temp_files",
    "unsafe",
    "write_private_file",
]

_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a planted FIFO must not hang the read before fstat refuses it
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_WRITE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_UNSAFE_BITS: Final = stat.S_IWGRP | stat.S_IWOTH
_TEMP: Final = re.compile(r".+\.[0-9a-f]{8}\.tmp")


class Refused(Exception):
    """A directory or file another user could have written (or that is no file at all); str() says why."""


def unsafe(st: os.stat_result) -> str | None:
    """Why a file or directory with this status may hold someone else's data (None: it cannot)."""
    if st.st_uid != os.geteuid():
        return f"it is owned by uid {st.st_uid}, not by this process's uid {os.geteuid()}"
    if st.st_mode & _UNSAFE_BITS:
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def open_private_dir(directory: Path) -> int:
    """An O_NOFOLLOW fd of ``directory`` once it is checked private, creating it 0o700 if missing.

    Raises `Refused` when it is unsafe or unusable. The caller closes the fd.
    """
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except FileExistsError:
        pass                            # a non-directory: said below
    except OSError as exc:
        raise Refused(f"cannot create it ({exc.strerror})") from exc
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except OSError as exc:
        if os.path.islink(directory):
            reason = "it is a symbolic link"
        elif os.path.lexists(directory) and not os.path.isdir(directory):
            reason = "it is not a directory"
        else:
            reason = f"cannot open it ({exc.strerror})"
        raise Refused(reason) from exc
    # checked on the opened fd, after makedirs: the umask, or a racing creator, decide the real mode
    reason = unsafe(os.fstat(fd))
    if reason is not None:
        os.close(fd)
        raise Refused(reason)
    return fd


class PrivateDir:
    """A directory opened as `open_private_dir` does, with one warning the first time it is refused.

    A misconfigured directory stays so: the warning says once what the CU does instead
    (``fallback``) and how to fix it; every later open raises `Refused` quietly.
    """

    __slots__ = ("_fallback", "_log", "_setting", "_use", "_warned", "directory")

    def __init__(self, directory: Path, log: logging.Logger, *, use: str, fallback: str, setting: str) -> None:
        self.directory = directory
        self._log = log
        self._use = use
        self._fallback = fallback
        self._setting = setting
        self._warned = False

    def open(self) -> int:
        """A checked fd of the directory (created 0o700 if missing); raises `Refused`."""
        try:
            return open_private_dir(self.directory)
        except Refused as exc:
            if not self._warned:
                self._warned = True
                self._log.warning("not using %s for %s: %s; %s. Use a directory only this user can write "
                                  "(e.g. `chmod 700 %s`, owned by uid %d) or point %s elsewhere",
                                  self.directory, self._use, exc, self._fallback, self.directory, os.geteuid(),
                                  self._setting)
            raise


def open_private_file(dir_fd: int, name: str) -> tuple[int, os.stat_result] | None:
    """An fd of ``name`` in a private directory and its status, once checked; None when it does not exist.

    Raises `Refused` for a symlink, a non-regular file (a FIFO is not waited on), or a file another
    user owns or can write; `OSError` when it cannot be opened. The caller closes the fd.
    """
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("it is a symbolic link") from exc
        raise
    try:
        st = os.fstat(fd)
        reason = "it is not a regular file" if not stat.S_ISREG(st.st_mode) else unsafe(st)
    except BaseException:
        os.close(fd)
        raise
    if reason is not None:
        os.close(fd)
        raise Refused(reason)
    return fd, st


def read_private_file(dir_fd: int, name: str, *, size: int | None = None) -> bytes | None:
    """The bytes of ``name`` in a private directory; None when it does not exist.

    Raises what `open_private_file` raises, and `Refused` (when ``size`` is given) for a file of
    another size, which is not read at all.
    """
    opened = open_private_file(dir_fd, name)
    if opened is None:
        return None
    fd, st = opened
    try:
        if size is not None and st.st_size != size:
            raise Refused(f"it holds {st.st_size} bytes, not {size}")
        # read into memory rather than mmap: anyone truncating the file later (an operator, a
        # disk cleaner) would SIGBUS us
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def read_cached(dir_fd: int, name: str, log: logging.Logger, what: str, then: str, *,
                size: int | None = None) -> bytes | None:
    """`read_private_file` for a cache: None when the file is missing, refused or unreadable, the
    last two with a warning naming ``what`` the file is and ``then`` what the caller does instead."""
    try:
        return read_private_file(dir_fd, name, size=size)
    except Refused as exc:
        log.warning("not using %s %s: %s; %s", what, name, exc, then)
    except OSError as exc:
        log.warning("not using %s %s: %s; %s", what, name, exc.strerror, then)
    return None


def create_private_file(dir_fd: int, name: str) -> int:
    """A write fd of a new file ``name`` (mode 0o600) in a private directory; never opens an existing
    name or follows a link there (`FileExistsError` instead). The caller closes it."""
    return os.open(name, _WRITE_FLAGS, 0o600, dir_fd=dir_fd)


def write_private_file(dir_fd: int, name: str, data: bytes | memoryview) -> None:
    """Store ``data`` as ``name`` in a private directory, mode 0o600, atomically; raises `OSError`.

    Not fsynced: its callers are caches whose reader checks what it reads (a crash leaves the old
    file, the new one, or a damaged one that the reader refuses and rewrites). Memory snapshots,
    which must be durable before their record is committed, stream through `create_private_file`.
    """
    tmp = f"{name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = create_private_file(dir_fd, tmp)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
        finally:
            os.close(fd)
        # rename replaces a refused (symlinked, foreign) entry itself, never what it points to
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)   # readers never see half a file
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def remove_temp_files(dir_fd: int) -> int:
    """Delete what a crash inside `write_private_file` left in a private directory; returns how many."""
    removed = 0
    with os.scandir(dir_fd) as it:
        stale = [e.name for e in it if _TEMP.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    for name in stale:
        try:
            os.unlink(name, dir_fd=dir_fd)
            removed += 1
        except OSError:
            pass                        # gone already, or not ours to remove: harmless either way
    return removed
