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

Malformed and post-MVP input: the reference's reader is lenient. It ignores the
sizes of non-custom sections, reads immediates the MVP way whatever a later
proposal means by them (a multi-memory memarg, a call_indirect table index, a
passive segment's flags), reads one result type whatever the count, writes an
unknown value-type byte back as 0x00 and decodes names with U+FFFD
replacement. All of that is mirrored, byte for byte, even where its output is
not a valid module, because some such outputs do validate (a one-byte
type-index block type written back as 0x00 is even correct for index 0).
`MeteringError` is raised where the JS throws: opcodes outside MVP +
sign-extension (the 0xFC/0xFD/0xFE prefixes, exception handling, reference
types, tail calls, ``select t``), unknown section ids (e.g. tags) or import
kinds, an existing ``metering.usegas`` import (pre-metered gen 1/2 modules), a
body whose last opcode is not a branching one, numbers the JS cannot hold; and
where the JS would read past the end of the input (it reads missing bytes as
`undefined` and carries on), except for a custom section cut short, which it
keeps as a shorter one and so does this. A random-mutation differential run
against the JS (``tests/fixtures/metering/fuzz.py``) found no other difference.

Not modelled here, for the loader integrator: ao-loader compiles
``meteredView.buffer``, the metered Buffer's whole ArrayBuffer. Node carves
Buffers under 4096 bytes out of a shared 8 KiB pool, so for a metered output
under 4 KiB the reference compiles that pool slab (the module plus unrelated
bytes) and fails; real modules are far larger and unaffected.
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


def _op_error(data: bytes, pos: int) -> MeteringError:
    op = data[pos]
    what = f"unknown opcode 0x{op:02x}"
    family = {0xFC: "bulk memory / saturating truncation", 0xFD: "SIMD", 0xFE: "threads"}.get(op)
    if family and pos + 1 < len(data):
        what = f"prefixed opcode 0x{op:02x} 0x{data[pos + 1]:02x}... ({family})"
    return MeteringError(
        f"{what} at offset {pos}: not supported by @permaweb/wasm-json-toolkit, "
        "so ao-loader's metering cannot transform this module"
    )


def _type_byte(byte: int) -> int:
    """The byte the reference writes back for a value-type byte it read.

    It maps the byte through its type table (LANGUAGE_TYPES); anything else
    (v128, reference types, a block type's type index, ...) becomes
    `undefined`, which Node's ``Buffer.from([undefined])`` writes as 0x00.
    For a one-byte block type index 0 that is even the same byte, and for
    other indices the output can still validate, so this is mirrored.
    """
    return byte if byte in _KNOWN_TYPES else 0x00


def _reencode_op(data: bytes, pos: int) -> tuple[bytes, int]:
    """Parse the instruction at pos the way the reference does; return its
    re-serialised bytes (minimal LEBs, no call remapping) and its end.

    Immediates are read as the MVP reader reads them, whatever a newer
    proposal would mean (a multi-memory memarg's memory index is read as the
    offset, a call_indirect table index is one raw byte, ...): mirroring the
    misreads is what keeps the output identical."""
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
        out.append(_type_byte(data[q]))
        q += 1
    elif kind == _K_MEMARG:
        flags, q2 = _read_uleb(data, q)
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
        out.append(data[q2])  # "reserved": one raw byte
        q = q2 + 1
    elif kind == _K_BYTE:
        out.append(data[q])  # "varuint1": one raw byte
        q += 1
    elif kind == _K_F32:
        out += data[q : q + 4]
        q += 4
    elif kind == _K_F64:
        out += data[q : q + 8]
        q += 8
    else:
        raise _op_error(data, pos)
    if q > len(data):
        raise IndexError  # truncated (slices above do not raise on their own)
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

    def meter(self, data: bytes, pos: int, end: int, parts: list[bytes]) -> int:
        """Append the metered instructions starting at pos to parts; return
        the position after the last one.

        Like the reference, instructions are read while the position is
        before ``end`` (the body's declared end), so the last one may overrun
        it; the caller continues from the returned position. Unchanged
        instructions are copied as raw spans; calls (remapped), the rare
        non-minimal LEBs or odd immediates (re-encoded) and the metering
        statements are spliced in. Each segment gets a placeholder in parts
        that receives its statement once the segment's cost is known.
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
            elif kind == _K_MEMARG and data[q] < 0x80 and data[q + 1] < 0x80:
                q += 2
            elif kind == _K_F32:
                q += 4
            elif kind == _K_F64:
                q += 8
            elif kind == _K_BLOCK and data[q] in _KNOWN_TYPES:
                q += 1
            else:
                # Long memargs, odd block types, br_table, call_indirect,
                # memory.size/grow and invalid opcodes: rare enough to always
                # take the general path, splicing only if the bytes change.
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
        if p > len(data):
            raise IndexError  # an f32/f64 constant ran past the end of the input
        if seg_start != p:
            # The reference walks past the end of its op list and throws.
            raise MeteringError(f"function body ending at offset {p} does not end with a branching opcode")
        return p


# --------------------------------------------------------------------------------------
# Module structure.
#
# The reference reader (buffer-pipe + leb128) ignores the sizes of non-custom
# sections (it parses entries from wherever it is and continues from where they
# end) and never checks a byte it does not need, so this parser does the same.
# The one thing not mirrored is reading past the end of the input, which the JS
# does silently (as `undefined` bytes): truncated input raises MeteringError,
# except for a custom section cut short, which the JS keeps as a shorter one.


class _Reader:
    """Cursor over the binary, with the reference's reading rules."""

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
            raise IndexError
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        """An unsigned LEB128 the reference reads with toNumber()."""
        start = self.pos
        value, self.pos = _read_uleb(self.data, self.pos)
        return _js_number(value, what, start)

    def valtype(self) -> int:
        return _type_byte(self.byte())

    def name(self) -> str:
        # Buffer#toString: invalid UTF-8 becomes U+FFFD (Python's "replace"
        # handler substitutes the same maximal subparts as Node).
        return self.raw(self.u32("name length")).decode("utf-8", "replace")

    def limits(self) -> bytes:
        flags = self.u32("limits flags")
        out = _uleb(flags) + _uleb(self.u32("limits minimum"))
        if flags % 2 == 1:
            out += _uleb(self.u32("limits maximum"))
        return out

    def init_expr(self) -> bytes:
        """One instruction, then one skipped byte (assumed ``end``, never
        checked); returns the instruction re-encoded followed by ``end``."""
        enc, self.pos = _reencode_op(self.data, self.pos)
        self.byte()
        return enc + b"\x0b"


def _js_name(name: str) -> bytes:
    # json2wasm writes `string.length` (UTF-16 code units) as the byte count.
    units = len(name) + sum(1 for c in name if ord(c) > 0xFFFF)
    return _uleb(units) + name.encode("utf-8")


class _Section:
    __slots__ = ("entries", "name", "value")

    def __init__(self, name: str, entries: list | None = None, value: object = None) -> None:
        self.name = name
        self.entries: list = entries if entries is not None else []
        self.value = value  # custom: (name, payload); start/data_count: int; code: bodies


class _Parser:
    """Reads the module into `_Section`s, metering function bodies on the way."""

    def __init__(self, binary: bytes, meter_type: str) -> None:
        self.binary = binary
        self.meter_type = meter_type
        # Function imports seen so far: when the code section is reached this
        # is the index of the metering import (the reference counts the
        # imports of the sections it visits before the code section).
        self.function_imports = 0
        self.body_meter = _BodyMeter(0, meter_type)

    def module(self) -> list[_Section]:
        data = self.binary
        if len(data) < 8 or data[:4] != b"\0asm" or data[4:8] != b"\x01\0\0\0":
            # The reference copies magic and version unchecked, so its output
            # would be rejected by the engine just the same.
            raise MeteringError("not a wasm binary (bad magic or version)")
        sections: list[_Section] = []
        r = _Reader(data, 8)
        while r.pos < len(data):
            sec_id = r.byte()
            name = _SECTION_NAMES.get(sec_id)
            size = r.u32("section size")
            if name is None:
                raise MeteringError(f"section id {sec_id} at offset {r.pos} is not supported")
            if name == "custom":
                # Read as a sub-stream of `size` bytes: one cut short by the
                # end of the input keeps what there is (no error in the JS).
                sections.append(self.custom(self.binary[r.pos : r.pos + size]))
                r.pos += size
            elif name == "start":
                sections.append(_Section(name, value=r.u32("start function")))
            elif name == "data_count":
                sections.append(_Section(name, value=r.u32("data count")))
            else:
                count = r.u32(f"{name} section count")
                if name == "code":
                    self.body_meter = _BodyMeter(self.function_imports, self.meter_type)
                parse = getattr(self, "_" + name)  # e.g. _type, _import
                sections.append(_Section(name, [parse(r) for _ in range(count)]))
        return sections

    @staticmethod
    def custom(payload: bytes) -> _Section:
        # A sub-stream: reads past *its* end yield nothing (a name longer than
        # the section is cut short), which cannot reach past the input.
        length, pos = 0, 0
        for shift in range(0, 7 * len(payload) + 7, 7):
            if pos >= len(payload):
                break
            b = payload[pos]
            pos += 1
            length |= (b & 0x7F) << shift
            if b < 0x80:
                break
        _js_number(length, "custom section name length", 0)
        name = payload[pos : pos + length].decode("utf-8", "replace")
        return _Section("custom", value=(name, payload[pos + length :]))

    def _type(self, r: _Reader) -> bytes:
        form = r.valtype()
        n_params = r.u32("param count")
        params = bytes(r.valtype() for _ in range(n_params))
        # Only one result type is read whatever the count; an unknown one is
        # written back as "no result".
        result = r.byte() if r.u32("result count") else None
        ret = bytes((1, result)) if result in _KNOWN_TYPES else b"\x00"
        return bytes((form,)) + _uleb(n_params) + params + ret

    def _import(self, r: _Reader) -> list:
        module = r.name()
        field = r.name()
        kind = r.byte()
        if kind == _KIND_FUNCTION:
            self.function_imports += 1
            desc = _uleb(r.u32("import type index"))
        elif kind == _KIND_TABLE:
            desc = bytes((r.valtype(),)) + r.limits()
        elif kind == _KIND_MEMORY:
            desc = r.limits()
        elif kind == _KIND_GLOBAL:
            desc = bytes((r.valtype(), r.byte()))
        else:
            raise MeteringError(f"import {module}.{field} has kind {kind}, which the reference cannot parse")
        return [module, field, kind, desc]

    def _function(self, r: _Reader) -> bytes:
        return _uleb(r.u32("function type index"))

    def _table(self, r: _Reader) -> bytes:
        return bytes((r.valtype(),)) + r.limits()

    def _memory(self, r: _Reader) -> bytes:
        return r.limits()

    def _global(self, r: _Reader) -> bytes:
        return bytes((r.valtype(), r.byte())) + r.init_expr()

    def _export(self, r: _Reader) -> list:
        name = r.name()
        kind = r.byte()
        # An unknown kind is written back as 0 (function), but not shifted.
        return [name, kind if kind <= _KIND_GLOBAL else None, r.u32("export index")]

    def _element(self, r: _Reader) -> list:
        # Only the MVP layout: non-zero flags are read as a table index.
        index = _uleb(r.u32("element segment index"))
        offset = r.init_expr()
        return [index + offset, [r.u32("element function index") for _ in range(r.u32("element count"))]]

    def _data(self, r: _Reader) -> bytes:
        head = _uleb(r.u32("data segment index")) + r.init_expr()
        payload = r.raw(r.u32("data segment size"))
        return head + _uleb(len(payload)) + payload

    def _code(self, r: _Reader) -> bytes:
        end = r.u32("function body size")
        end += r.pos
        n_decls = r.u32("local declaration count")
        parts = [_uleb(n_decls)]
        for _ in range(n_decls):
            # Local declarations cost nothing (the reference's "local" vs
            # "locals" key mismatch), so they are only re-encoded.
            parts.append(_uleb(r.u32("local count")) + bytes((r.valtype(),)))
        r.pos = self.body_meter.meter(self.binary, r.pos, end, parts)
        body = b"".join(parts)
        return _uleb(len(body)) + body


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
# Transform and serialisation


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
    sections = _Parser(data, meter_type).module()
    if not any(s.name == "type" for s in sections):
        _create_section(sections, "type")
    if not any(s.name == "import" for s in sections):
        _create_section(sections, "import")

    # Walk the sections in order, as meterJSON does: the function imports
    # counted so far decide which indices later sections shift.
    func_index = 0
    meter_type_index = 0  # what the reference writes if no type section was visited
    seen_type = seen_function = False
    for sec in sections:
        name = sec.name
        if name == "type":
            meter_type_index = len(sec.entries)
            sec.entries.append(b"\x60\x01" + (b"\x7f" if meter_type == "i32" else b"\x7e") + b"\x00")
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
        elif name == "code" and sec.entries and not (seen_type and seen_function):
            # The reference dereferences the function/type sections here.
            raise MeteringError("code section without a preceding type and function section")

    out = [data[:8]]
    for sec in sections:
        payload = b"".join(_section_payload(sec, meter_type_index))
        out.append(bytes((_SECTION_IDS[sec.name],)) + _uleb(len(payload)) + payload)
    return b"".join(out)


def _section_payload(sec: _Section, meter_type_index: int) -> list[bytes]:
    name = sec.name
    if name == "custom":
        sec_name, payload = sec.value  # type: ignore[misc]
        return [_js_name(sec_name), payload]
    if name in ("start", "data_count"):
        return [_uleb(sec.value)]  # type: ignore[arg-type]
    out = [_uleb(len(sec.entries))]
    if name == "import":
        for module, field, kind, desc in sec.entries:
            # desc is None only for the metering import, whose type index is
            # known once the type section has been visited.
            d = _uleb(meter_type_index) if desc is None else desc
            out.append(_js_name(module) + _js_name(field) + bytes((kind,)) + d)
    elif name == "export":
        for ename, kind, index in sec.entries:
            raw = ename.encode("utf-8")
            out.append(_uleb(len(raw)) + raw + bytes((kind or 0,)) + _uleb(index))
    elif name == "element":
        for head, elems in sec.entries:
            out.append(head + _uleb(len(elems)) + b"".join(map(_uleb, elems)))
    else:
        # type, function, table, memory, global, data, code: already bytes.
        out.extend(sec.entries)
    return out
