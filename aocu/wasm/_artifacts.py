"""The on-disk cache of compiled modules: where artifacts live and when they may be trusted.

Deserialising an artifact runs the native code in it, so an artifact another user could
have written is code execution inside the CU. A cache directory is used only when it is
a real directory (not a symlink) owned by the effective uid and not writable by group or
others; it is created 0o700 when missing. An artifact is read only when, on the very fd
it is read from, it is a regular file owned by us and not group/other-writable. Anything
refused is skipped: the module is compiled in memory, since the cache is an optimisation.
Directories are opened with O_NOFOLLOW and artifacts opened relative to that fd, so the
checked directory is the one read from and written to (no check-then-use race on names).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import threading
from pathlib import Path

log = logging.getLogger("aocu.wasm.cache")

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a planted FIFO must not hang the load before fstat refuses it
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_UNSAFE_BITS = stat.S_IWGRP | stat.S_IWOTH

_warned: set[str] = set()
_warned_lock = threading.Lock()


def artifact_name(key: tuple[str, str], engine_tag: str) -> str:
    """The file name of the artifact of ``key`` (sha256, format) under ``engine_tag``."""
    # wasmtime refuses artifacts of another version or config; the name keeps them apart anyway
    tag = hashlib.sha256(f"{engine_tag}|{key[1]}".encode()).hexdigest()[:16]
    return f"{key[0]}-{tag}.cwasm"


def _unsafe(st: os.stat_result) -> str | None:
    """Why a file or directory with this status may hold someone else's code (None: it cannot)."""
    if st.st_uid != os.geteuid():
        return f"it is owned by uid {st.st_uid}, not by this process's uid {os.geteuid()}"
    if st.st_mode & _UNSAFE_BITS:
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _refuse_dir(cache_dir: Path, reason: str) -> None:
    key = os.fspath(cache_dir)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning("not using compiled-module cache %s: %s; modules are compiled in memory instead. Use a "
                "directory only this user can write (e.g. `chmod 700 %s`, owned by uid %d) or point "
                "WASM_BINARY_FILE_DIRECTORY (AOCU_WASM_CACHE_DIR for aocu.wasm alone) elsewhere",
                key, reason, key, os.geteuid())


def open_dir(cache_dir: Path) -> int | None:
    """An O_NOFOLLOW fd of ``cache_dir`` once it is checked safe, creating it 0o700 if missing.

    None (after one warning per directory) when it is unsafe or unusable. The caller closes the fd.
    """
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    except FileExistsError:
        pass                            # a non-directory: said below
    except OSError as exc:
        _refuse_dir(cache_dir, f"cannot create it ({exc.strerror})")
        return None
    try:
        fd = os.open(cache_dir, _DIR_FLAGS)
    except OSError as exc:
        if os.path.islink(cache_dir):
            reason = "it is a symbolic link"
        elif os.path.lexists(cache_dir) and not os.path.isdir(cache_dir):
            reason = "it is not a directory"
        else:
            reason = f"cannot open it ({exc.strerror})"
        _refuse_dir(cache_dir, reason)
        return None
    # checked on the opened fd, after makedirs: the umask, or a racing creator, decide the real mode
    reason = _unsafe(os.fstat(fd))
    if reason is not None:
        os.close(fd)
        _refuse_dir(cache_dir, reason)
        return None
    return fd


def read_artifact(dir_fd: int, name: str) -> bytes | None:
    """The bytes of artifact ``name`` in the checked directory, or None when missing or untrustworthy."""
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:              # ELOOP: a symlink; anything else: unreadable
        log.warning("not reading compiled module %s: %s", name,
                    "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror)
        return None
    try:
        st = os.fstat(fd)
        reason = "it is not a regular file" if not stat.S_ISREG(st.st_mode) else _unsafe(st)
        if reason is not None:
            log.warning("not reading compiled module %s: %s; it will be replaced", name, reason)
            return None
        # read into memory rather than mmap (deserialize_file): anyone truncating the file
        # later (an operator, a disk cleaner) would SIGBUS us
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def write_artifact(dir_fd: int, name: str, data: bytes) -> None:
    """Store ``data`` as artifact ``name``, mode 0o600, atomically; errors are ignored (a cache)."""
    tmp = f"{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, _WRITE_FLAGS, 0o600, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
        finally:
            os.close(fd)
        # rename replaces a refused (symlinked, foreign) entry itself, never what it points to
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)   # readers never see half an artifact
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
