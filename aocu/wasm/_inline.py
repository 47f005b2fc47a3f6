"""Inline the hottest host imports into the module binary itself.

This module owns one binary rewrite, done once per compiled module: calls to
imports whose whole job is a few arithmetic steps on host-side state become
that arithmetic on new (exported) globals of the module, so they never leave
the module's own code.

* ``metering.usegas(n)`` runs once per basic block of a metered binary (the
  pre-metered AOS gen 2 module spent about 40% of its time in it as a
  cross-instance call, plus the register spills around each call). Each
  ``call usegas`` becomes ``used += n``, and the limit is checked where
  execution can go on for ever: at the top of every loop (``if used > limit:
  call usegas(0)``, the import being the host's slow path that raises "out of
  gas!"). The host checks once more when an export returns or traps
  (`Instance`). A check in every block, as the helper did, costs a third more
  time and compile time, and the outcome is the same: ``used`` only grows, so a
  message runs out of gas exactly when the per-block check would have stopped
  it, only a few blocks later. What differs is the memory of the failed
  message, which the CU drops (it continues from the memory before it, as the
  reference does; the instance refuses further messages). The import stays, so
  a call reaching it another way (``ref.func``, a table) keeps its exact meaning.
* ``getTempRet0``/``setTempRet0`` (the high half of every legalized i64 in
  gen 1/2 modules) become ``global.get``/``global.set``.
* ``emscripten_memcpy_big(dest, src, n)`` (gen 1/2, a few per message) becomes
  ``memory.copy``: the host did the same ``memmove`` and trapped on the same
  out-of-bounds arguments.

The meaning of every instruction is unchanged (GasUsed, memory and results are
byte-identical; tests/compat checks that), only where the counters live moves.
The rewrite needs to find instruction boundaries, so it decodes every body; on
anything it does not know (a new proposal's opcode) it gives up and the caller
keeps the binary as it is, served by the slower helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._metering import _read_uleb, _uleb

#: Exports the rewrite adds (names no Emscripten module uses).
GAS_USED_EXPORT: Final = "__aocu_gas_used"
GAS_LIMIT_EXPORT: Final = "__aocu_gas_limit"
TEMP_RET0_EXPORT: Final = "__aocu_temp_ret0"

#: Roles an import can have for the rewrite.
USEGAS, GET_TEMP_RET0, SET_TEMP_RET0, MEMCPY_BIG = "usegas", "getTempRet0", "setTempRet0", "memcpy_big"

_I32, _I64 = 0x7F, 0x7E


class _Unsupported(Exception):
    """The binary holds something the decoder does not know; leave it as is."""


def _skip_leb(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _skip_name(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _read_uleb(data, pos)
    return data[pos:pos + n].decode("utf-8", "replace"), pos + n


def _skip_valtype(data: bytes, pos: int) -> int:
    if data[pos] in (0x63, 0x64):          # (ref null? ht): a heap type follows (s33)
        return _skip_leb(data, pos + 1)
    return pos + 1


def _skip_limits(data: bytes, pos: int) -> int:
    flags = data[pos]
    pos = _skip_leb(data, pos + 1)
    if flags & 1:
        pos = _skip_leb(data, pos)
    if flags & 8:                          # custom page size
        pos = _skip_leb(data, pos)
    return pos


# -- instructions ----------------------------------------------------------------------

# Immediate shapes by opcode (single-byte opcodes). Missing opcodes are unsupported.
_NONE, _LEB, _LEB2, _BLOCK, _BR_TABLE, _MEMARG, _SELECT_T, _F32, _F64, _TRY_TABLE = range(10)
_SHAPES: dict[int, int] = {0x00: _NONE, 0x01: _NONE, 0x05: _NONE, 0x0A: _NONE, 0x0B: _NONE, 0x0F: _NONE,
                           0x19: _NONE, 0x1A: _NONE, 0x1B: _NONE, 0xD1: _NONE, 0xD3: _NONE, 0xD4: _NONE}
for _op in (0x02, 0x03, 0x04, 0x06):
    _SHAPES[_op] = _BLOCK
for _op in (0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x14, 0x15, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24,
            0x25, 0x26, 0x3F, 0x40, 0x41, 0x42, 0xD0, 0xD2, 0xD5, 0xD6):
    _SHAPES[_op] = _LEB
for _op in (0x11, 0x13):
    _SHAPES[_op] = _LEB2
for _op in range(0x28, 0x3F):
    _SHAPES[_op] = _MEMARG
for _op in range(0x45, 0xC5):
    _SHAPES[_op] = _NONE
_SHAPES.update({0x0E: _BR_TABLE, 0x1C: _SELECT_T, 0x43: _F32, 0x44: _F64, 0x1F: _TRY_TABLE})
del _op

# 0xFC sub-opcodes: number of LEB immediates (saturating truncation, bulk memory, tables).
_FC_LEBS: dict[int, int] = {**{i: 0 for i in range(8)}, 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2,
                            15: 1, 16: 1, 17: 1}


def _skip_memarg(data: bytes, pos: int) -> int:
    align, pos = _read_uleb(data, pos)
    if align & 0x40:                       # multi-memory: a memory index follows
        pos = _skip_leb(data, pos)
    return _skip_leb(data, pos)


def _skip_blocktype(data: bytes, pos: int) -> int:
    if data[pos] == 0x40 or data[pos] in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
        return pos + 1
    if data[pos] in (0x63, 0x64):
        return _skip_leb(data, pos + 1)
    return _skip_leb(data, pos)            # a type index (s33)


def _skip_simd(data: bytes, pos: int) -> int:
    sub, pos = _read_uleb(data, pos)
    if sub <= 11 or sub in (92, 93):
        return _skip_memarg(data, pos)
    if sub in (12, 13):                    # v128.const, i8x16.shuffle
        return pos + 16
    if 21 <= sub <= 34:                    # extract/replace lane
        return pos + 1
    if 84 <= sub <= 91:                    # load/store lane
        return _skip_memarg(data, pos) + 1
    if sub <= 0x113:
        return pos
    raise _Unsupported(f"SIMD opcode {sub}")


def _next(data: bytes, pos: int) -> int:
    """The end of the instruction at ``pos``."""
    op = data[pos]
    pos += 1
    shape = _SHAPES.get(op)
    if shape == _NONE:
        return pos
    if shape == _LEB:
        return _skip_leb(data, pos)
    if shape == _MEMARG:
        return _skip_memarg(data, pos)
    if shape == _BLOCK:
        return _skip_blocktype(data, pos)
    if shape == _LEB2:
        return _skip_leb(data, _skip_leb(data, pos))
    if shape == _BR_TABLE:
        n, pos = _read_uleb(data, pos)
        for _ in range(n + 1):
            pos = _skip_leb(data, pos)
        return pos
    if shape == _F32:
        return pos + 4
    if shape == _F64:
        return pos + 8
    if shape == _SELECT_T:
        n, pos = _read_uleb(data, pos)
        for _ in range(n):
            pos = _skip_valtype(data, pos)
        return pos
    if shape == _TRY_TABLE:
        pos = _skip_blocktype(data, pos)
        n, pos = _read_uleb(data, pos)
        for _ in range(n):
            kind = data[pos]
            pos += 1
            if kind in (0, 1):
                pos = _skip_leb(data, pos)
            pos = _skip_leb(data, pos)
        return pos
    if op == 0xFC:
        sub, pos = _read_uleb(data, pos)
        if sub not in _FC_LEBS:
            raise _Unsupported(f"opcode 0xfc {sub}")
        for _ in range(_FC_LEBS[sub]):
            pos = _skip_leb(data, pos)
        return pos
    if op == 0xFD:
        return _skip_simd(data, pos)
    if op == 0xFE:
        sub, pos = _read_uleb(data, pos)
        return pos + 1 if sub == 3 else _skip_memarg(data, pos)
    raise _Unsupported(f"opcode 0x{op:02x}")


def _rewrite_body(body: bytes, calls: Mapping[int, bytes], loop_entry: bytes = b"") -> bytes | None:
    """``body`` with every ``call f`` for f in ``calls`` replaced and ``loop_entry`` put at the top of
    every loop; None if nothing changed."""
    n, pos = _read_uleb(body, 0)
    for _ in range(n):
        pos = _skip_valtype(body, _skip_leb(body, pos))
    out: list[bytes] = []
    start = 0
    end = len(body)
    changed = False
    while pos < end:
        op = body[pos]
        nxt = _next(body, pos)
        if op == 0x10:
            target = _read_uleb(body, pos + 1)[0]
            replacement = calls.get(target)
            if replacement is not None:
                out.append(body[start:pos])
                out.append(replacement)
                start = nxt
                changed = True
        elif op == 0x03 and loop_entry:
            out.append(body[start:nxt])
            out.append(loop_entry)
            start = nxt
            changed = True
        elif op == 0x12 and _read_uleb(body, pos + 1)[0] in calls:
            raise _Unsupported("tail call to an inlined import")
        pos = nxt
    if not changed:
        return None
    out.append(body[start:])
    return b"".join(out)


# -- the module ------------------------------------------------------------------------


def _sections(binary: bytes) -> list[tuple[int, bytes]]:
    if binary[:8] != b"\0asm\x01\0\0\0":
        raise _Unsupported("not a core wasm module")
    pos, out = 8, []
    while pos < len(binary):
        sid = binary[pos]
        size, pos = _read_uleb(binary, pos + 1)
        out.append((sid, binary[pos:pos + size]))
        pos += size
    if pos != len(binary):
        raise _Unsupported("truncated section")
    return out


def _func_types(payload: bytes) -> list[tuple[bytes, bytes]]:
    n, pos = _read_uleb(payload, 0)
    types = []
    for _ in range(n):
        if payload[pos] != 0x60:
            raise _Unsupported("non-function type")
        pos += 1
        params: list[bytes] = []
        for _kind in range(2):
            count, pos = _read_uleb(payload, pos)
            start = pos
            for _ in range(count):
                pos = _skip_valtype(payload, pos)
            params.append(payload[start:pos])
        types.append((params[0], params[1]))
    return types


def _imports(payload: bytes) -> tuple[list[tuple[str, str, int]], int]:
    """Function imports as (module, name, type index), and the number of global imports."""
    n, pos = _read_uleb(payload, 0)
    funcs, globals_ = [], 0
    for _ in range(n):
        module, pos = _skip_name(payload, pos)
        name, pos = _skip_name(payload, pos)
        kind = payload[pos]
        pos += 1
        if kind == 0:
            typeidx, pos = _read_uleb(payload, pos)
            funcs.append((module, name, typeidx))
        elif kind == 1:
            pos = _skip_limits(payload, _skip_valtype(payload, pos))
        elif kind == 2:
            pos = _skip_limits(payload, pos)
        elif kind == 3:
            pos = _skip_valtype(payload, pos) + 1
            globals_ += 1
        elif kind == 4:
            pos = _skip_leb(payload, pos + 1)
        else:
            raise _Unsupported(f"import kind {kind}")
    return funcs, globals_


def _has_memory(by_id: Mapping[int, bytes]) -> bool:
    """A memory 0 that is 32-bit (memory.copy's operands are i32 only for such a memory)."""
    if 5 in by_id and _read_uleb(by_id[5], 0)[0] > 0:
        flags = by_id[5][_read_uleb(by_id[5], 0)[1]]
        return not flags & 4
    return False


def _vec_append(payload: bytes | None, entries: list[bytes]) -> bytes:
    if payload is None:
        return _uleb(len(entries)) + b"".join(entries)
    n, pos = _read_uleb(payload, 0)
    return _uleb(n + len(entries)) + payload[pos:] + b"".join(entries)


def _export_names(payload: bytes | None) -> set[str]:
    if payload is None:
        return set()
    n, pos = _read_uleb(payload, 0)
    names = set()
    for _ in range(n):
        name, pos = _skip_name(payload, pos)
        names.add(name)
        pos = _skip_leb(payload, pos + 1)
    return names


def _global_entry(valtype: int) -> bytes:
    const = b"\x41\x00" if valtype == _I32 else b"\x42\x00"
    return bytes((valtype, 1)) + const + b"\x0b"


def _export_entry(name: str, global_index: int) -> bytes:
    raw = name.encode()
    return _uleb(len(raw)) + raw + b"\x03" + _uleb(global_index)


# Section order of the core spec (tag sits between memory and global).
_ORDER: Final = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}


def inline_host_imports(binary: bytes, roles: Mapping[tuple[str, str], str]) -> bytes | None:
    """The rewritten binary, or None when there is nothing to inline or it cannot be done.

    ``roles`` maps an import's (module, name) to USEGAS, GET_TEMP_RET0 or
    SET_TEMP_RET0. The added globals are exported under GAS_USED_EXPORT and
    GAS_LIMIT_EXPORT (both i64, when usegas was inlined) and TEMP_RET0_EXPORT (i32).
    """
    try:
        return _inline(binary, roles)
    except (_Unsupported, IndexError):
        return None


def _inline(binary: bytes, roles: Mapping[tuple[str, str], str]) -> bytes | None:
    sections = _sections(binary)
    by_id = {sid: payload for sid, payload in sections if sid != 0}
    if 2 not in by_id or 10 not in by_id:
        return None
    types = _func_types(by_id[1]) if 1 in by_id else []
    funcs, global_imports = _imports(by_id[2])
    found: dict[str, tuple[int, tuple[bytes, bytes]]] = {}
    for index, (module, name, typeidx) in enumerate(funcs):
        role = roles.get((module, name))
        if role is not None and role not in found and typeidx < len(types):
            found[role] = (index, types[typeidx])
    # only the exact signatures the glue defines
    if USEGAS in found and found[USEGAS][1] not in ((bytes([_I32]), b""), (bytes([_I64]), b"")):
        del found[USEGAS]
    if GET_TEMP_RET0 in found and found[GET_TEMP_RET0][1] != (b"", bytes([_I32])):
        del found[GET_TEMP_RET0]
    if SET_TEMP_RET0 in found and found[SET_TEMP_RET0][1] != (bytes([_I32]), b""):
        del found[SET_TEMP_RET0]
    if MEMCPY_BIG in found and (found[MEMCPY_BIG][1] != (bytes([_I32] * 3), b"") or not _has_memory(by_id)):
        del found[MEMCPY_BIG]
    if not found:
        return None
    exported = _export_names(by_id.get(7))
    if exported & {GAS_USED_EXPORT, GAS_LIMIT_EXPORT, TEMP_RET0_EXPORT}:
        return None
    n_globals = _read_uleb(by_id[6], 0)[0] if 6 in by_id else 0
    next_global = global_imports + n_globals
    new_globals: list[bytes] = []
    new_exports: list[bytes] = []
    calls: dict[int, bytes] = {}
    loop_entry = b""

    def add_global(valtype: int, export: str) -> int:
        nonlocal next_global
        index = next_global
        next_global += 1
        new_globals.append(_global_entry(valtype))
        new_exports.append(_export_entry(export, index))
        return index

    if USEGAS in found:
        index, (params, _results) = found[USEGAS]
        used = _uleb(add_global(_I64, GAS_USED_EXPORT))
        limit = _uleb(add_global(_I64, GAS_LIMIT_EXPORT))
        widen = b"\xac" if params[0] == _I32 else b""                 # i64.extend_i32_s
        zero = b"\x41\x00" if params[0] == _I32 else b"\x42\x00"
        calls[index] = widen + b"\x23" + used + b"\x7c" + b"\x24" + used    # used += n
        loop_entry = (b"\x23" + used + b"\x23" + limit + b"\x55"             # if used > limit (i64.gt_s)
                      + b"\x04\x40" + zero + b"\x10" + _uleb(index) + b"\x0b")  # then usegas(0)
    if GET_TEMP_RET0 in found or SET_TEMP_RET0 in found:
        temp = _uleb(add_global(_I32, TEMP_RET0_EXPORT))
        if GET_TEMP_RET0 in found:
            calls[found[GET_TEMP_RET0][0]] = b"\x23" + temp
        if SET_TEMP_RET0 in found:
            calls[found[SET_TEMP_RET0][0]] = b"\x24" + temp
    if MEMCPY_BIG in found:
        calls[found[MEMCPY_BIG][0]] = b"\xfc\x0a\x00\x00"                 # memory.copy 0 0

    code = by_id[10]
    n, pos = _read_uleb(code, 0)
    bodies = [_uleb(n)]
    start = pos
    for _ in range(n):
        size, body_start = _read_uleb(code, pos)
        body_end = body_start + size
        rewritten = _rewrite_body(code[body_start:body_end], calls, loop_entry)
        if rewritten is not None:
            bodies.append(code[start:pos])
            bodies.append(_uleb(len(rewritten)) + rewritten)
            start = body_end
        pos = body_end
    bodies.append(code[start:pos])
    replaced = {6: _vec_append(by_id.get(6), new_globals), 7: _vec_append(by_id.get(7), new_exports),
                10: b"".join(bodies)}

    out = [binary[:8]]
    pending = dict(replaced)
    for sid, payload in sections:
        if sid != 0:
            for missing in sorted((s for s in pending if s not in by_id and _ORDER[s] < _ORDER.get(sid, 0)),
                                  key=_ORDER.__getitem__):
                out.append(_section(missing, pending.pop(missing)))
            if sid in pending:
                payload = pending.pop(sid)
        out.append(_section(sid, payload))
    for sid in sorted(pending, key=_ORDER.__getitem__):
        out.append(_section(sid, pending[sid]))
    return b"".join(out)


def _section(sid: int, payload: bytes) -> bytes:
    return bytes((sid,)) + _uleb(len(payload)) + payload
