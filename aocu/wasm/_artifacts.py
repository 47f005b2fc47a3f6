"""The on-disk cache of compiled modules: where artifacts live and when they may be trusted.

Deserialising an artifact runs the native code in it, so an artifact another user could
have written is code execution inside the CU. The cache directory and the artifacts follow
`aocu._safefiles`'s rules (a private directory, created 0o700; our own 0o600 regular files,
checked on the fd they are read from). Anything refused is skipped: the module is compiled
in memory, since the cache is an optimisation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from aocu._safefiles import PrivateDir, Refused, read_cached, write_private_file

log = logging.getLogger("aocu.wasm.cache")

#: an artifact file is the SHA-256 of the serialized module, then the module
_DIGEST_BYTES = 32
_dirs: dict[str, PrivateDir] = {}         # one per cache directory: each warns once
_dirs_lock = threading.Lock()


def artifact_name(key: tuple[str, str], engine_tag: str) -> str:
    """The file name of the artifact of ``key`` (sha256, format) under ``engine_tag``."""
    # wasmtime refuses artifacts of another version or config; the name keeps them apart anyway
    tag = hashlib.sha256(f"{engine_tag}|{key[1]}".encode()).hexdigest()[:16]
    return f"{key[0]}-{tag}.cwasm"


def open_dir(cache_dir: Path) -> int | None:
    """An O_NOFOLLOW fd of ``cache_dir`` once it is checked safe, creating it 0o700 if missing.

    None (after one warning per directory) when it is unsafe or unusable. The caller closes the fd.
    """
    with _dirs_lock:
        private = _dirs.get(os.fspath(cache_dir))
        if private is None:
            private = _dirs[os.fspath(cache_dir)] = PrivateDir(
                cache_dir, log, use="the compiled-module cache", fallback="modules are compiled in memory instead",
                setting="WASM_BINARY_FILE_DIRECTORY (AOCU_WASM_CACHE_DIR for aocu.wasm alone)")
    try:
        return private.open()
    except Refused:
        return None


def read_artifact(dir_fd: int, name: str) -> bytes | None:
    """The compiled module stored as ``name`` in the checked directory, or None when missing,
    untrustworthy or damaged (its SHA-256 does not match)."""
    stored = read_cached(dir_fd, name, log, "compiled module", "it will be replaced")
    if stored is None:
        return None
    digest, data = stored[:_DIGEST_BYTES], stored[_DIGEST_BYTES:]
    if hashlib.sha256(data).digest() != digest:
        # torn by a crash (the write is not fsynced) or damaged on disk: running it could do anything
        log.warning("not reading compiled module %s: its checksum does not match; it will be replaced", name)
        return None
    return data


def write_artifact(dir_fd: int, name: str, data: bytes) -> None:
    """Store ``data`` as artifact ``name`` behind its SHA-256, mode 0o600, atomically; errors are
    ignored (a cache)."""
    try:
        write_private_file(dir_fd, name, hashlib.sha256(data).digest() + data)
    except OSError:
        pass
