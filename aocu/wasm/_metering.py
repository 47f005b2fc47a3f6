"""The gas-metering binary transform of ``@permaweb/wasm-metering`` 0.2.2, in Python.

This module owns one thing: turning a wasm binary into the *exact* bytes that
``@permaweb/ao-loader`` 0.0.49 compiles for the ``...-metering`` Module-Formats,
i.e. ``meterWASM(binary, { meterType })`` with every other option at its default
(cost table ``defaultCostTable.json``, import ``metering.usegas``). GasUsed is
defined by the inserted ``usegas`` calls, so any byte of difference would change
what a process is charged; the output must be byte-for-byte the reference's.

What the reference does (and therefore what this does):

* Parses the binary with ``@permaweb/wasm-json-toolkit`` (an MVP-era parser) and
  re-serialises it, so every LEB128 in the module comes out minimally encoded and
  every section size is recomputed, even where nothing was metered.
* Appends a type ``(func (param i32|i64))`` to the type section (always a new
  entry, even if an equal type exists) and the import ``metering.usegas`` after
  the *last* existing import. Its function index is the number of existing
  function imports, so every defined function's index shifts by one: ``call``
  immediates, function exports, element-segment entries and the start function
  are incremented; the ``name`` custom section (and any other custom section)
  is not.
* Cuts each function body into segments that end at a branching opcode (``end``,
  ``br``, ``br_if``, ``br_table``, ``if``, ``else``, ``return``, ``loop``,
  ``grow_memory``). A segment's cost is the sum of its opcodes' costs, looked up
  by the opcode name *without* its type prefix (``i32.add`` and ``f64.add`` are
  both "add"; names missing from the table, e.g. ``f32.div``, ``end``, all
  conversions, cost 0). If the cost is not 0, ``<type>.const (cost + 91); call
  usegas`` is inserted before the segment (91 = the cost of that statement
  itself: const 1 + call 90); zero-cost segments get no call.
* Local declarations are meant to cost 1 each but are free: the code looks the
  table up under ``"local"`` while the table's key is ``"locals"``. Function
  signatures cost 0 (their table entries only have a 0 default).
* Import module/field names and custom-section names are written with their
  UTF-16 length (JS ``string.length``) as the byte count, which is wrong for
  non-ASCII names; reproduced as is. Export names use the UTF-8 length.

Binaries the reference cannot meter raise `MeteringError`: opcodes outside the
MVP + sign-extension set (the 0xFC/0xFD/0xFE prefixes, exception handling,
reference types, tail calls, ``select t``), an existing ``metering.usegas``
import (pre-metered gen 1/2 modules), function types with several results,
unknown sections (e.g. tags), truncated input. So do constructs the reference
parser misreads silently and turns into a module that cannot compile
(non-zero element/data segment flags, multi-memory memargs, non-MVP value
types, extended-const init expressions, LEB-length mismatches): refusing is
the same outcome for the CU. One silent misread is mirrored instead, because
its output can be a valid module: a one-byte type-index block type is
written back as 0x00 (see `_block_type`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_COST_TABLE", "MeteringError", "meter_binary"]


class MeteringError(ValueError):
    """The binary cannot be metered the way ``@permaweb/wasm-metering`` would."""


METER_MODULE: Final = "metering"
METER_FIELD: Final = "usegas"

# Port of wasm-metering's defaultCostTable.json (same structure and values). Only
# ["code"]["code"] has an effect on the output; the other entries are kept so the
# table reads like the reference's, and their (non-)effects are noted.
DEFAULT_COST_TABLE: Final[dict] = {
    "start": 0,
    # Looked up per signature; only DEFAULT 0 entries, so a signature costs 0.
    "type": {"params": {"DEFAULT": 0}, "return_type": {"DEFAULT": 0}},
    "import": 0,
    "code": {
        # Never used: the reference looks up "local", not "locals".
        "locals": {"DEFAULT": 1},
        "code": {
            "get_local": 120,
            "set_local": 120,
            "tee_local": 120,
            "get_global": 120,
            "set_global": 120,
            "load8_s": 120,
            "load8_u": 120,
            "load16_s": 120,
            "load16_u": 120,
            "load32_s": 120,
            "load32_u": 120,
            "load": 120,
            "store8": 120,
            "store16": 120,
            "store32": 120,
            "store": 120,
            "grow_memory": 10000,
            "current_memory": 100,
            "nop": 1,
            "block": 1,
            "loop": 1,
            "if": 1,
            "then": 90,
            "else": 90,
            "br": 90,
            "br_if": 90,
            "br_table": 120,
            "return": 90,
            "call": 90,
            "call_indirect": 10000,
            "const": 1,
            "add": 45,
            "sub": 45,
            "mul": 45,
            "div_s": 36000,
            "div_u": 36000,
            "rem_s": 36000,
            "rem_u": 36000,
            "and": 45,
            "or": 45,
            "xor": 45,
            "shl": 67,
            "shr_u": 67,
            "shr_s": 67,
            "rotl": 90,
            "rotr": 90,
            "eq": 45,
            "eqz": 45,
            "ne": 45,
            "lt_s": 45,
            "lt_u": 45,
            "le_s": 45,
            "le_u": 45,
            "gt_s": 45,
            "gt_u": 45,
            "ge_s": 45,
            "ge_u": 45,
            "clz": 45,
            "ctz": 45,
            "popcnt": 45,
            "drop": 120,
            "select": 120,
            "unreachable": 1,
        },
    },
    "data": 0,
}

# --------------------------------------------------------------------------------------
# Opcode tables. The reference parser knows exactly the MVP opcodes plus the five
# sign-extension ones, under the pre-2017 text names; everything else is a parse error.


def _named(start: int, prefix: str, names: str) -> dict[int, str]:
    return {start + i: f"{prefix}.{n}" if prefix else n for i, n in enumerate(names.split())}


_INT_CMP = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"
_FLT_CMP = "eq ne lt gt le ge"
_INT_ARITH = "clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr"
_FLT_ARITH = "abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign"

OPCODE_NAMES: Final[dict[int, str]] = {
    **_named(0x00, "", "unreachable nop block loop if else"),
    **_named(0x0B, "", "end br br_if br_table return call call_indirect"),
    **_named(0x1A, "", "drop select"),
    **_named(0x20, "", "get_local set_local tee_local get_global set_global"),
    **_named(0x28, "i32", "load"),
    **_named(0x29, "i64", "load"),
    **_named(0x2A, "f32", "load"),
    **_named(0x2B, "f64", "load"),
    **_named(0x2C, "i32", "load8_s load8_u load16_s load16_u"),
    **_named(0x30, "i64", "load8_s load8_u load16_s load16_u load32_s load32_u"),
    **_named(0x36, "i32", "store"),
    **_named(0x37, "i64", "store"),
    **_named(0x38, "f32", "store"),
    **_named(0x39, "f64", "store"),
    **_named(0x3A, "i32", "store8 store16"),
    **_named(0x3C, "i64", "store8 store16 store32"),
    **_named(0x3F, "", "current_memory grow_memory"),
    **_named(0x41, "i32", "const"),
    **_named(0x42, "i64", "const"),
    **_named(0x43, "f32", "const"),
    **_named(0x44, "f64", "const"),
    **_named(0x45, "i32", "eqz " + _INT_CMP),
    **_named(0x50, "i64", "eqz " + _INT_CMP),
    **_named(0x5B, "f32", _FLT_CMP),
    **_named(0x61, "f64", _FLT_CMP),
    **_named(0x67, "i32", _INT_ARITH),
    **_named(0x79, "i64", _INT_ARITH),
    **_named(0x8B, "f32", _FLT_ARITH),
    **_named(0x99, "f64", _FLT_ARITH),
    **_named(0xA7, "i32", "wrap/i64 trunc_s/f32 trunc_u/f32 trunc_s/f64 trunc_u/f64"),
    **_named(0xAC, "i64", "extend_s/i32 extend_u/i32 trunc_s/f32 trunc_u/f32 trunc_s/f64 trunc_u/f64"),
    **_named(0xB2, "f32", "convert_s/i32 convert_u/i32 convert_s/i64 convert_u/i64 demote/f64"),
    **_named(0xB7, "f64", "convert_s/i32 convert_u/i32 convert_s/i64 convert_u/i64 promote/f32"),
    **_named(0xBC, "i32", "reinterpret/f32"),
    **_named(0xBD, "i64", "reinterpret/f64"),
    **_named(0xBE, "f32", "reinterpret/i32"),
    **_named(0xBF, "f64", "reinterpret/i64"),
    **_named(0xC0, "i32", "extend8_s extend16_s"),
    **_named(0xC2, "i64", "extend8_s extend16_s extend32_s"),
}

# Immediate kinds. The reference's immediates.json keys them by the short name
# (and by the type for ``const``); ULEB covers its "varuint32" (br, locals,
# globals), CALL is a varuint32 that gets remapped.
_K_NONE, _K_ULEB, _K_CALL, _K_BLOCK, _K_BR_TABLE, _K_CALL_INDIRECT = 0, 1, 2, 3, 4, 5
_K_MEMARG, _K_BYTE, _K_SLEB, _K_F32, _K_F64, _K_INVALID = 6, 7, 8, 9, 10, 255

_KIND_BY_NAME: Final[dict[str, int]] = {
    "block": _K_BLOCK,
    "loop": _K_BLOCK,
    "if": _K_BLOCK,
    "br": _K_ULEB,
    "br_if": _K_ULEB,
    "br_table": _K_BR_TABLE,
    "call": _K_CALL,
    "call_indirect": _K_CALL_INDIRECT,
    "get_local": _K_ULEB,
    "set_local": _K_ULEB,
    "tee_local": _K_ULEB,
    "get_global": _K_ULEB,
    "set_global": _K_ULEB,
    "current_memory": _K_BYTE,  # "varuint1": one raw byte
    "grow_memory": _K_BYTE,
}
_MEMARG_NAMES = frozenset(
    "load load8_s load8_u load16_s load16_u load32_s load32_u store store8 store16 store32".split()
)
_CONST_KIND: Final[dict[str, int]] = {"i32": _K_SLEB, "i64": _K_SLEB, "f32": _K_F32, "f64": _K_F64}

# Opcodes that close a metering segment (wasm-metering's branchingOps).
_BRANCHING_NAMES = frozenset("grow_memory end br br_table br_if if else return loop".split())

_CODE_COSTS: Final[dict] = DEFAULT_COST_TABLE["code"]["code"]


def _short_name(full: str) -> tuple[str | None, str]:
    prefix, dot, rest = full.partition(".")
    return (prefix, rest) if dot else (None, full)


def _cost_of(name: str) -> int:
    # The reference's getCost on a string: the table value, else the table's
    # DEFAULT, else 0 (the code table has no DEFAULT).
    return _CODE_COSTS.get(name, _CODE_COSTS.get("DEFAULT", 0))


def _build_tables() -> tuple[bytes, tuple[int, ...], bytes]:
    kinds = bytearray([_K_INVALID] * 256)
    costs = [0] * 256
    branching = bytearray(256)
    for op, full in OPCODE_NAMES.items():
        prefix, name = _short_name(full)
        if name == "const":
            kinds[op] = _CONST_KIND[prefix or ""]
        elif name in _MEMARG_NAMES:
            kinds[op] = _K_MEMARG
        else:
            kinds[op] = _KIND_BY_NAME.get(name, _K_NONE)
        costs[op] = _cost_of(name)
        branching[op] = name in _BRANCHING_NAMES
    return bytes(kinds), tuple(costs), bytes(branching)


_KIND, _COST, _BRANCHING = _build_tables()
# The metering statement "<type>.const N; call I" costs const + call.
_METERING_OVERHEAD: Final = _cost_of("const") + _cost_of("call")

_OP_CALL: Final = 0x10
_OP_END: Final = 0x0B
_CONST_OPCODE: Final[dict[str, int]] = {"i32": 0x41, "i64": 0x42}

# Value-type bytes the reference maps to a name and back (LANGUAGE_TYPES). Any
# other byte becomes `undefined` and is written back as 0x00, corrupting the
# module, so we refuse it.
_KNOWN_TYPES = frozenset((0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x60, 0x40))

_SECTION_NAMES: Final[dict[int, str]] = {
    0: "custom",
    1: "type",
    2: "import",
    3: "function",
    4: "table",
    5: "memory",
    6: "global",
    7: "export",
    8: "start",
    9: "element",
    10: "code",
    11: "data",
    12: "data_count",
}
_SECTION_IDS: Final[dict[str, int]] = {v: k for k, v in _SECTION_NAMES.items()}

_KIND_FUNCTION, _KIND_TABLE, _KIND_MEMORY, _KIND_GLOBAL = 0, 1, 2, 3

# bn.js's toNumber() asserts the value fits in 53 bits; the reference uses it for
# most LEBs outside instructions (and for br_table/call_indirect/memarg).
_MAX_JS_NUMBER: Final = 1 << 53
# A signed LEB of 26*k bytes hits a bn.js fromTwos edge case; real LEBs are <= 10.
_MAX_SLEB_BYTES: Final = 25

# --------------------------------------------------------------------------------------
# LEB128


def _uleb(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7  # arithmetic shift: -1 stays -1
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    """Value and end position of the unsigned LEB128 at pos (IndexError if truncated)."""
    result = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _read_sleb(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    result = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    if pos - start > _MAX_SLEB_BYTES:
        raise MeteringError(f"signed LEB128 of {pos - start} bytes at offset {start}")
    if byte & 0x40:
        result -= 1 << shift
    return result, pos


def _uleb_is_minimal(data: bytes, start: int, end: int) -> bool:
    return end - start == 1 or data[end - 1] != 0


def _sleb_is_minimal(data: bytes, start: int, end: int) -> bool:
    if end - start == 1:
        return True
    last, prev = data[end - 1], data[end - 2]
    return not ((last == 0 and not prev & 0x40) or (last == 0x7F and prev & 0x40))


def _js_number(value: int, what: str, pos: int) -> int:
    if value >= _MAX_JS_NUMBER:
        raise MeteringError(f"{what} {value} at offset {pos} does not fit a JS number")
    return value


# --------------------------------------------------------------------------------------
# Instructions


def _op_error(data: bytes, pos: int, why: str) -> MeteringError:
    op = data[pos]
    if op in (0xFC, 0xFD, 0xFE):
        family = {0xFC: "bulk memory / saturating truncation", 0xFD: "SIMD", 0xFE: "threads"}[op]
        why = f"prefixed opcode 0x{op:02x} 0x{data[pos + 1]:02x}... ({family})"
    return MeteringError(
        f"{why} at offset {pos}: not supported by @permaweb/wasm-json-toolkit, "
        "so ao-loader's metering cannot transform this module"
    )


def _check_type_byte(byte: int, pos: int, what: str) -> int:
    if byte not in _KNOWN_TYPES:
        raise MeteringError(f"{what} 0x{byte:02x} at offset {pos} is not an MVP value type")
    return byte


def _block_type(byte: int, pos: int) -> int:
    """The block-type byte the reference writes back for ``byte``.

    It reads one byte and maps it through its type table; anything else (a
    type index, v128, a reference type) becomes `undefined`, which Node's
    Buffer writes as 0x00. For type index 0 that is even the same byte, and
    for other indices the output can still validate, so this is mirrored
    rather than refused. A multi-byte (s33) index would desync the parser.
    """
    if byte in _KNOWN_TYPES:
        return byte
    if byte >= 0x80:
        raise MeteringError(f"block type index of several bytes at offset {pos}")
    return 0x00


def _reencode_op(data: bytes, pos: int) -> tuple[bytes, int]:
    """Parse the instruction at pos the way the reference does; return its
    re-serialised bytes (minimal LEBs, no call remapping) and its end."""
    op = data[pos]
    kind = _KIND[op]
    out = bytearray((op,))
    q = pos + 1
    if kind == _K_NONE:
        pass
    elif kind in (_K_ULEB, _K_CALL):
        value, q = _read_uleb(data, q)
        out += _uleb(value)
    elif kind == _K_SLEB:
        value, q = _read_sleb(data, q)
        out += _sleb(value)
    elif kind == _K_BLOCK:
        out.append(_block_type(data[q], q))
        q += 1
    elif kind == _K_MEMARG:
        flags, q2 = _read_uleb(data, q)
        if flags & 0x40:
            raise MeteringError(f"memarg with a memory index (multi-memory) at offset {q}")
        offset, q3 = _read_uleb(data, q2)
        out += _uleb(_js_number(flags, "memarg flags", q)) + _uleb(_js_number(offset, "memarg offset", q2))
        q = q3
    elif kind == _K_BR_TABLE:
        count, q2 = _read_uleb(data, q)
        out += _uleb(_js_number(count, "br_table size", q))
        q = q2
        for _ in range(count + 1):
            target, q2 = _read_uleb(data, q)
            out += _uleb(_js_number(target, "br_table target", q))
            q = q2
    elif kind == _K_CALL_INDIRECT:
        index, q2 = _read_uleb(data, q)
        out += _uleb(_js_number(index, "call_indirect type", q))
        table = data[q2]
        if table >= 0x80:
            raise MeteringError(f"call_indirect table index of several bytes at offset {q2}")
        out.append(table)
        q = q2 + 1
    elif kind == _K_BYTE:
        if data[q] >= 0x80:
            raise MeteringError(f"memory index of several bytes at offset {q}")
        out.append(data[q])
        q += 1
    elif kind == _K_F32:
        out += data[q : q + 4]
        q += 4
    elif kind == _K_F64:
        out += data[q : q + 8]
        q += 8
    else:
        raise _op_error(data, pos, f"unknown opcode 0x{op:02x}")
    if q > len(data):
        raise MeteringError(f"instruction at offset {pos} runs past the end of the binary")
    return bytes(out), q


class _BodyMeter:
    """Meters function bodies: shared state for one module (import index, type)."""

    def __init__(self, func_index: int, meter_type: str) -> None:
        self.func_index = func_index
        self._stmt_prefix = bytes((_CONST_OPCODE[meter_type],))
        self._stmt_suffix = bytes((_OP_CALL,)) + _uleb(func_index)
        self._stmt_cache: dict[int, bytes] = {}
        self._call_cache: dict[int, bytes] = {}

    def statement(self, cost: int) -> bytes:
        stmt = self._stmt_cache.get(cost)
        if stmt is None:
            stmt = self._stmt_prefix + _sleb(cost) + self._stmt_suffix
            self._stmt_cache[cost] = stmt
        return stmt

    def call(self, target: int) -> bytes:
        """The bytes of ``call target`` after shifting past the new import."""
        enc = self._call_cache.get(target)
        if enc is None:
            shifted = target + 1 if target >= self.func_index else target
            enc = bytes((_OP_CALL,)) + _uleb(shifted)
            self._call_cache[target] = enc
        return enc

    def meter(self, data: bytes, pos: int, end: int, parts: list[bytes]) -> None:
        """Append the metered instructions of data[pos:end] to parts.

        Unchanged instructions are copied as raw spans; calls (remapped), the
        rare non-minimal LEBs (re-encoded) and the metering statements are
        spliced in. Each segment gets a placeholder in parts that receives its
        statement once the segment's cost is known.
        """
        kinds, costs, branching = _KIND, _COST, _BRANCHING
        copy_from = pos  # start of raw bytes not yet appended
        slot = len(parts)  # placeholder for the current segment's statement
        parts.append(b"")
        seg_start = pos
        cost = 0
        p = pos
        while p < end:
            op = data[p]
            kind = kinds[op]
            cost += costs[op]
            q = p + 1
            if kind == _K_NONE:
                pass
            elif kind == _K_ULEB:
                if data[q] < 0x80:
                    q += 1
                else:
                    _, q = _read_uleb(data, q)
                    if not _uleb_is_minimal(data, p + 1, q):
                        parts.append(data[copy_from:p])
                        enc, q = _reencode_op(data, p)
                        parts.append(enc)
                        copy_from = q
            elif kind == _K_CALL:
                if data[q] < 0x80:
                    target = data[q]
                    q += 1
                else:
                    target, q = _read_uleb(data, q)
                if target >= self.func_index or not _uleb_is_minimal(data, p + 1, q):
                    parts.append(data[copy_from:p])
                    parts.append(self.call(target))
                    copy_from = q
            elif kind == _K_SLEB:
                if data[q] < 0x80:
                    q += 1
                else:
                    _, q = _read_sleb(data, q)
                    if not _sleb_is_minimal(data, p + 1, q):
                        parts.append(data[copy_from:p])
                        enc, q = _reencode_op(data, p)
                        parts.append(enc)
                        copy_from = q
            elif kind == _K_MEMARG:
                if data[q] < 0x40 and data[q + 1] < 0x80:
                    q += 2
                else:
                    # A long LEB (or a multi-memory flag): decode, validate and
                    # splice only if the minimal encoding differs.
                    enc, q = _reencode_op(data, p)
                    if enc != data[p:q]:
                        parts.append(data[copy_from:p])
                        parts.append(enc)
                        copy_from = q
            elif kind == _K_F32:
                q += 4
            elif kind == _K_F64:
                q += 8
            elif kind == _K_BLOCK:
                if data[q] in _KNOWN_TYPES:
                    q += 1
                else:
                    parts.append(data[copy_from:p])
                    enc, q = _reencode_op(data, p)
                    parts.append(enc)
                    copy_from = q
            else:
                # br_table, call_indirect, memory.size/grow, invalid opcodes:
                # rare enough to always take the general path.
                enc, q = _reencode_op(data, p)
                if enc != data[p:q]:
                    parts.append(data[copy_from:p])
                    parts.append(enc)
                    copy_from = q
            p = q
            if branching[op]:
                if cost:
                    parts[slot] = self.statement(cost + _METERING_OVERHEAD)
                parts.append(data[copy_from:p])
                copy_from = p
                slot = len(parts)
                parts.append(b"")
                seg_start = p
                cost = 0
        if p != end:
            raise MeteringError(f"instruction at offset {p} runs past the end of its function body")
        if seg_start != end:
            # The reference walks past the end of its op list and throws.
            raise MeteringError(f"function body ending at offset {end} does not end with a branching opcode")


# --------------------------------------------------------------------------------------
# Module structure


class _Reader:
    """Cursor over the binary for the small, non-code sections."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MeteringError(f"{n} bytes at offset {self.pos} run past the end of the binary")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        """An unsigned LEB128 the reference reads with toNumber()."""
        start = self.pos
        value, self.pos = _read_uleb(self.data, self.pos)
        return _js_number(value, what, start)

    def valtype(self, what: str) -> int:
        return _check_type_byte(self.byte(), self.pos - 1, what)

    def name(self) -> str:
        start = self.pos
        raw = self.raw(self.u32("name length"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MeteringError(f"name at offset {start} is not valid UTF-8") from None

    def limits(self) -> tuple[int, int, int | None]:
        start = self.pos
        flags = self.u32("limits flags")
        if flags & ~0x07:
            raise MeteringError(f"limits flags 0x{flags:x} at offset {start} are not supported")
        initial = self.u32("limits minimum")
        maximum = self.u32("limits maximum") if flags % 2 == 1 else None
        return flags, initial, maximum

    def init_expr(self) -> bytes:
        """One instruction then ``end``; returns the re-encoded instruction."""
        enc, self.pos = _reencode_op(self.data, self.pos)
        if self.byte() != _OP_END:
            raise MeteringError(f"init expression at offset {self.pos - 1} has more than one instruction")
        return enc


def _limits_bytes(limits: tuple[int, int, int | None]) -> bytes:
    flags, initial, maximum = limits
    out = _uleb(flags) + _uleb(initial)
    return out if maximum is None else out + _uleb(maximum)


def _js_name(name: str) -> bytes:
    # json2wasm writes `string.length` (UTF-16 code units) as the byte count.
    units = len(name) + sum(1 for c in name if ord(c) > 0xFFFF)
    return _uleb(units) + name.encode("utf-8")


class _Section:
    __slots__ = ("entries", "name", "value")

    def __init__(self, name: str, entries: list | None = None, value: object = None) -> None:
        self.name = name
        self.entries: list = entries if entries is not None else []
        self.value = value  # custom: (name, payload); start/data_count: int


def _parse_section(data: bytes, name: str, start: int, end: int) -> _Section:
    r = _Reader(data, start)
    if name == "custom":
        sec = _Section(name, value=(r.name(), data[r.pos : end]))
        if r.pos > end:
            raise MeteringError(f"custom section name at offset {start} overruns the section")
        return sec
    if name == "start":
        sec = _Section(name, value=r.u32("start function"))
    elif name == "data_count":
        sec = _Section(name, value=r.u32("data count"))
    else:
        count = r.u32(f"{name} section count")
        entries: list = []
        parse = _ENTRY_PARSERS[name]
        for _ in range(count):
            entries.append(parse(r))
        sec = _Section(name, entries)
    if r.pos != end:
        raise MeteringError(f"{name} section at offset {start} has {end - r.pos} unparsed bytes")
    return sec


def _parse_type(r: _Reader) -> tuple[int, bytes, int | None]:
    form = r.valtype("type form")
    params = bytes(r.valtype("param type") for _ in range(r.u32("param count")))
    n_results = r.u32("result count")
    if n_results > 1:
        raise MeteringError(f"function type with {n_results} results (multi-value) at offset {r.pos}")
    result = r.valtype("result type") if n_results else None
    return form, params, result


def _parse_import(r: _Reader) -> list:
    module = r.name()
    field = r.name()
    kind = r.byte()
    if kind == _KIND_FUNCTION:
        desc: object = r.u32("import type index")
    elif kind == _KIND_TABLE:
        desc = (r.valtype("table element type"), r.limits())
    elif kind == _KIND_MEMORY:
        desc = r.limits()
    elif kind == _KIND_GLOBAL:
        desc = (r.valtype("global type"), r.byte())
    else:
        raise MeteringError(f"import {module}.{field} has unsupported kind {kind}")
    return [module, field, kind, desc]


def _parse_export(r: _Reader) -> list:
    name = r.name()
    kind = r.byte()
    if kind > _KIND_GLOBAL:
        raise MeteringError(f"export {name!r} has unsupported kind {kind}")
    return [name, kind, r.u32("export index")]


def _parse_segment_header(r: _Reader, what: str) -> bytes:
    start = r.pos
    flags = r.u32(f"{what} segment flags")
    if flags != 0:
        # The reference reads this as an MVP index and then misparses the rest.
        raise MeteringError(f"{what} segment with flags {flags} at offset {start} (only MVP active segments)")
    return r.init_expr()


def _parse_element(r: _Reader) -> list:
    offset = _parse_segment_header(r, "element")
    return [offset, [r.u32("element function index") for _ in range(r.u32("element count"))]]


def _parse_data(r: _Reader) -> tuple[bytes, bytes]:
    offset = _parse_segment_header(r, "data")
    return offset, r.raw(r.u32("data segment size"))


def _parse_code(r: _Reader) -> tuple[bytes, int, int]:
    size = r.u32("function body size")
    end = r.pos + size
    locals_out = bytearray()
    n_decls = r.u32("local declaration count")
    locals_out += _uleb(n_decls)
    for _ in range(n_decls):
        locals_out += _uleb(r.u32("local count"))
        locals_out.append(r.valtype("local type"))
    if r.pos > end:
        raise MeteringError(f"local declarations overrun the function body ending at offset {end}")
    body_start = r.pos
    r.pos = end
    return bytes(locals_out), body_start, end


_ENTRY_PARSERS = {
    "type": _parse_type,
    "import": _parse_import,
    "function": lambda r: r.u32("function type index"),
    "table": lambda r: (r.valtype("table element type"), r.limits()),
    "memory": lambda r: r.limits(),
    "global": lambda r: (r.valtype("global type"), r.byte(), r.init_expr()),
    "export": _parse_export,
    "element": _parse_element,
    "code": _parse_code,
    "data": _parse_data,
}


def _parse_module(data: bytes) -> list[_Section]:
    if len(data) < 8 or data[:4] != b"\0asm" or data[4:8] != b"\x01\0\0\0":
        raise MeteringError("not a wasm binary (bad magic or version)")
    sections: list[_Section] = []
    pos = 8
    while pos < len(data):
        sec_id = data[pos]
        name = _SECTION_NAMES.get(sec_id)
        if name is None:
            raise MeteringError(f"section id {sec_id} at offset {pos} is not supported")
        size, start = _read_uleb(data, pos + 1)
        end = start + size
        if end > len(data):
            raise MeteringError(f"{name} section at offset {pos} runs past the end of the binary")
        sections.append(_parse_section(data, name, start, end))
        pos = end
    return sections


def _create_section(sections: list[_Section], name: str) -> None:
    """Insert an empty section before the first non-custom one with a larger id.

    Mirrors the reference, including doing nothing when there is no such
    section (then the module gets no import at all)."""
    new_id = _SECTION_IDS[name]
    for i, sec in enumerate(sections):
        sec_id = _SECTION_IDS[sec.name]
        if sec_id and new_id < sec_id:
            sections.insert(i, _Section(name))
            return


# --------------------------------------------------------------------------------------
# Serialisation


def _section_payload(sec: _Section, data: bytes, meta: dict) -> list[bytes]:
    name = sec.name
    if name == "custom":
        sec_name, payload = sec.value  # type: ignore[misc]
        return [_js_name(sec_name), payload]
    if name in ("start", "data_count"):
        return [_uleb(sec.value)]  # type: ignore[arg-type]
    out = [_uleb(len(sec.entries))]
    if name == "type":
        for form, params, result in sec.entries:
            ret = b"\x00" if result is None else bytes((1, result))
            out.append(bytes((form,)) + _uleb(len(params)) + params + ret)
    elif name == "import":
        for module, field, kind, desc in sec.entries:
            if kind == _KIND_FUNCTION:
                # The metering import's type index is only known after the
                # type section was visited (desc is None until then).
                d = _uleb(meta.get("meter_type_index", 0) if desc is None else desc)
            elif kind == _KIND_TABLE:
                d = bytes((desc[0],)) + _limits_bytes(desc[1])
            elif kind == _KIND_MEMORY:
                d = _limits_bytes(desc)
            else:
                d = bytes(desc)
            out.append(_js_name(module) + _js_name(field) + bytes((kind,)) + d)
    elif name == "function":
        out.extend(_uleb(t) for t in sec.entries)
    elif name == "table":
        out.extend(bytes((t,)) + _limits_bytes(lim) for t, lim in sec.entries)
    elif name == "memory":
        out.extend(_limits_bytes(lim) for lim in sec.entries)
    elif name == "global":
        out.extend(bytes((t, mut)) + init + b"\x0b" for t, mut, init in sec.entries)
    elif name == "export":
        for ename, kind, index in sec.entries:
            raw = ename.encode("utf-8")
            out.append(_uleb(len(raw)) + raw + bytes((kind,)) + _uleb(index))
    elif name == "element":
        for offset, elems in sec.entries:
            out.append(b"\x00" + offset + b"\x0b" + _uleb(len(elems)) + b"".join(map(_uleb, elems)))
    elif name == "data":
        for offset, payload in sec.entries:
            out.append(b"\x00" + offset + b"\x0b" + _uleb(len(payload)) + payload)
    elif name == "code":
        out.extend(sec.value)  # type: ignore[arg-type]  # bodies metered in place
    return out


def meter_binary(binary: bytes | bytearray | memoryview, meter_type: str) -> bytes:
    """Return ``binary`` metered exactly like ao-loader's ``meterWASM(binary, {meterType})``.

    meter_type is ``"i32"`` (wasm32 ``-metering`` format) or ``"i64"`` (wasm64); it
    is the parameter type of the added import ``metering.usegas``. Raises
    `MeteringError` for binaries the reference cannot meter (see module docstring).
    """
    if meter_type not in _CONST_OPCODE:
        raise MeteringError(f"meter_type must be 'i32' or 'i64', not {meter_type!r}")
    data = bytes(binary)
    try:
        return _meter(data, meter_type)
    except IndexError:
        raise MeteringError("truncated wasm binary") from None


def _meter(data: bytes, meter_type: str) -> bytes:
    sections = _parse_module(data)
    if not any(s.name == "type" for s in sections):
        _create_section(sections, "type")
    if not any(s.name == "import" for s in sections):
        _create_section(sections, "import")

    # Walk the sections in order, as meterJSON does: function imports counted in
    # the import section decide the new function index used by later sections.
    func_index = 0
    meta: dict = {}
    seen_type = seen_function = False
    for sec in sections:
        name = sec.name
        if name == "type":
            meta["meter_type_index"] = len(sec.entries)
            sec.entries.append((0x60, bytes((0x7F if meter_type == "i32" else 0x7E,)), None))
            seen_type = True
        elif name == "function":
            seen_function = True
        elif name == "import":
            for module, field, kind, _ in sec.entries:
                if module == METER_MODULE and field == METER_FIELD:
                    raise MeteringError(
                        "the module already imports metering.usegas (it was metered at build "
                        "time); the reference refuses: importing metering function is not allowed"
                    )
                if kind == _KIND_FUNCTION:
                    func_index += 1
            sec.entries.append([METER_MODULE, METER_FIELD, _KIND_FUNCTION, None])
        elif name == "export":
            for entry in sec.entries:
                if entry[1] == _KIND_FUNCTION and entry[2] >= func_index:
                    entry[2] += 1
        elif name == "element":
            for entry in sec.entries:
                entry[1] = [e + 1 if e >= func_index else e for e in entry[1]]
        elif name == "start":
            if sec.value >= func_index:  # type: ignore[operator]
                sec.value += 1  # type: ignore[operator]
        elif name == "code":
            if sec.entries and not (seen_type and seen_function):
                raise MeteringError("code section without a preceding type and function section")
            meter = _BodyMeter(func_index, meter_type)
            bodies: list[bytes] = []
            for locals_bytes, start, end in sec.entries:
                parts: list[bytes] = [locals_bytes]
                meter.meter(data, start, end, parts)
                body = b"".join(parts)
                bodies.append(_uleb(len(body)) + body)
            sec.value = bodies

    out = [data[:8]]
    for sec in sections:
        payload = b"".join(_section_payload(sec, data, meta))
        out.append(bytes((_SECTION_IDS[sec.name],)) + _uleb(len(payload)) + payload)
    return b"".join(out)
