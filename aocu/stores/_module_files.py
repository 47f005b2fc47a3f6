"""Module binaries cached on disk, read back only when no one else can have written them.

Owns the files in ``<WASM_BINARY_FILE_DIRECTORY>/aocu-modules``. The names are predictable (the
module ids) and the default parent is /tmp, so a binary planted by another local user would be
evaluated instead of the module and change every result. The directory and the files follow
`aocu._safefiles`'s rules (a private 0o700 directory of ours; our own 0o600 regular files, checked
on the fd they are read from), and a binary is used only when its size and sha256 match what the
store recorded when it wrote it (the store keeps that digest in its database, not on disk beside
the file). Anything refused means "not cached": the caller downloads the binary again and its
write replaces the refused file. Refusals are logged; nothing here raises.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Final, NamedTuple

import trio

from aocu._safefiles import PrivateDir, Refused, read_cached, remove_temp_files, write_private_file

from ._memory_files import safe_name_part

__all__ = ["SUBDIR", "BinaryDigest", "ModuleFiles"]

SUBDIR: Final = "aocu-modules"
log = logging.getLogger("aocu.stores.modules")


class BinaryDigest(NamedTuple):
    """What a cached binary must be: its size and sha256 (recorded when it was written)."""

    size: int
    sha256: bytes

    @classmethod
    def of(cls, data: bytes) -> BinaryDigest:
        return cls(len(data), hashlib.sha256(data).digest())


class ModuleFiles:
    """The binary cache of one store: blocking work runs in a worker thread under ``limiter``."""

    def __init__(self, module_dir: Path, limiter: trio.CapacityLimiter | None = None) -> None:
        self.directory = module_dir / SUBDIR
        self._limiter = limiter
        self._dir = PrivateDir(self.directory, log, use="module binaries",
                               fallback="they are downloaded from the gateway on every start instead",
                               setting="WASM_BINARY_FILE_DIRECTORY")

    def file_name(self, module_id: str) -> str:
        return f"{safe_name_part(module_id)}.wasm"

    async def read(self, module_id: str, expected: BinaryDigest | None) -> bytes | None:
        """The cached binary of ``module_id`` when it is ours and matches ``expected``, else None."""
        if expected is None:            # never recorded (or written by an older aocu): not trusted
            return None
        return await trio.to_thread.run_sync(self._read, module_id, expected, limiter=self._limiter)

    async def write(self, module_id: str, data: bytes) -> BinaryDigest | None:
        """Cache ``data`` as the binary of ``module_id``; its digest, or None when it was not cached."""
        return await trio.to_thread.run_sync(self._write, module_id, data, limiter=self._limiter)

    def remove_temp_files(self) -> int:
        """Delete what a crash in a write left (blocking; called once at startup)."""
        fd = self._open_dir()
        if fd is None:
            return 0
        try:
            return remove_temp_files(fd)
        except OSError:
            return 0
        finally:
            os.close(fd)

    def _open_dir(self) -> int | None:
        try:
            return self._dir.open()
        except Refused:
            return None

    def _read(self, module_id: str, expected: BinaryDigest) -> bytes | None:
        fd = self._open_dir()
        if fd is None:
            return None
        name = self.file_name(module_id)
        try:
            data = read_cached(fd, name, log, f"module {module_id}'s cached binary", "downloading it again",
                               size=expected.size)
        finally:
            os.close(fd)
        if data is not None and hashlib.sha256(data).digest() != expected.sha256:
            log.warning("cached binary %s of module %s does not match its recorded sha256; downloading it again",
                        name, module_id)
            return None
        return data

    def _write(self, module_id: str, data: bytes) -> BinaryDigest | None:
        digest = BinaryDigest.of(data)
        fd = self._open_dir()
        if fd is None:
            return None
        try:
            write_private_file(fd, self.file_name(module_id), data)
        except OSError as exc:
            log.warning("could not cache the binary of module %s in %s: %s", module_id, self.directory, exc)
            return None
        finally:
            os.close(fd)
        return digest
