"""The Emscripten JS glue's host functions, re-implemented for one instance.

Owns the host-side state that ao-loader's glue keeps per instance: the
deterministic ``Date.now`` counter, ``tempRet0``, the tzset latch, stdout, the
block height. Runs on the thread that runs the instance. Never touches the
host's clock, files, environment, shell or randomness: every such import
answers with the glue's documented deterministic stand-in (loader-abi.md §1).
Start reading at `EmscriptenGlue.imports`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _jsdate
from ._errors import Abort, ExitStatus
from ._formats import Format

if TYPE_CHECKING:
    from ._memory import LinearMemory

ENOSYS = 52
#: The glue's deterministic ``Date.now`` starts here (``var TIME = 1e4``).
DATE_NOW_START = 10_000
#: The glue caps each growth step's overshoot at requested + 96 MiB.
HEAP_OVERGROW_CAP = 100_663_296
WASM_PAGE = 65_536


def _zero_bytes(n: int) -> bytes:
    return bytes(n)


@dataclass(frozen=True, slots=True)
class HostOptions:
    """Stand-ins for what the reference leaks from its host (documented defaults).

    ``this_program``/``argv``: what the gen 1-3 glue takes from Node's
    ``process.argv[1]`` / ``process.argv.slice(2)`` (env ``_`` and gen 2's
    ``main`` argv); Emscripten's own default when there is no host argv is
    ``./this.program``. ``random_bytes`` serves ``/dev/random`` and
    ``/dev/urandom`` (Node uses real entropy; we default to zeros).
    ``deadline_s`` bounds one ``handle`` in wall-clock seconds (None: no limit).
    The time zone is always UTC.
    """

    this_program: str = "./this.program"
    argv: tuple[str, ...] = ()
    random_bytes: Callable[[int], bytes] = _zero_bytes
    deadline_s: float | None = None


class EmscriptenGlue:
    """Non-filesystem imports of the glue, bound to one instance's state."""

    def __init__(self, fmt: Format, options: HostOptions, *, heap_max: int) -> None:
        self.fmt = fmt
        self.options = options
        self.heap_max = heap_max
        self.mem: LinearMemory  # set once the instance exists
        self.exports: dict[str, Callable[..., Any]] = {}
        # Gen 3/4 glue: 3 createDevice calls in FS.init (+ the loader's
        # FS_createPath('/', 'data') in gen 4) read Date.now before wasm does.
        self.date_now = DATE_NOW_START
        self.temp_ret0 = 0
        self.tzset_done = False
        self.stdout = bytearray()
        self.block_height: Any = None

    # -- clock ------------------------------------------------------------------
    def now(self) -> float:
        """The glue's ``Date.now``: a counter bumped by every caller, FS included."""
        value = self.date_now
        self.date_now += 1
        return float(value)

    def _date_now_zero(self) -> float:
        return 0.0          # gen 1/2 patch ``_emscripten_date_now`` to 0

    def _get_now_gen2(self) -> float:
        # gen 2 replaced process.hrtime by Date.now: t[0]*1e3 + t[1]/1e6 is NaN,
        # and the call still bumps the counter.
        self.date_now += 1
        return math.nan

    def _get_now_is_monotonic(self) -> int:
        return 1

    # -- struct tm ----------------------------------------------------------------
    def _time_and_tm(self, args: tuple[int, ...]) -> tuple[int, int]:
        mem = self.mem
        if self.fmt.gen <= 2:                      # (time_t *t, tm *) reading HEAP32[t>>2]
            return mem.i32(mem.uptr(args[0])), mem.uptr(args[1])
        if self.fmt.memory64:                      # (i64 time, i64 tm)
            return args[0], args[1]
        lo, hi, tm = args                          # convertI32PairToI53Checked(lo, hi)
        return (lo & 0xFFFFFFFF) + hi * 4_294_967_296, tm & 0xFFFFFFFF

    def _fill_tm(self, tm: int, seconds: int, local: bool) -> None:
        f = _jsdate.utc_fields(seconds)
        mem = self.mem
        for offset, value in enumerate((f.sec, f.min, f.hour, f.mday, f.mon, f.year - 1900, f.wday, f.yday)):
            mem.set_i32(tm + 4 * offset, value)
        if local:
            mem.set_i32(tm + 32, 0)                # tm_isdst
            if self.fmt.memory64:
                mem.set_i64(tm + 40, 0)            # tm_gmtoff (long)
            else:
                mem.set_i32(tm + 36, 0)

    def _gmtime_js(self, *args: int) -> None:
        seconds, tm = self._time_and_tm(args)
        self._fill_tm(tm, seconds, local=False)

    def _localtime_js(self, *args: int) -> None:
        seconds, tm = self._time_and_tm(args)
        self._fill_tm(tm, seconds, local=True)

    def _mktime_js(self, tm: int) -> int:
        mem = self.mem
        tm = mem.uptr(tm)
        g = [mem.i32(tm + 4 * i) for i in range(9)]
        seconds = _jsdate.make_time(g[5] + 1900, g[4], g[3], g[2], g[1], g[0])
        if g[8] < 0:
            mem.set_i32(tm + 32, 0)
        self._fill_tm(tm, seconds, local=False)
        if self.fmt.memory64:
            return seconds
        if self.fmt.gen >= 3:                      # high half through the tempRet0 export
            setter = self.exports.get("_emscripten_tempret_set") or self.exports["setTempRet0"]
            setter(seconds >> 32)
        return seconds

    def _tzset_js(self, *args: int) -> None:
        mem = self.mem
        if self.fmt.gen <= 2:
            timezone, daylight, tzname = (mem.uptr(a) for a in args)
            if self.tzset_done:
                return
            self.tzset_done = True
            mem.set_i32(timezone, 0)
            mem.set_i32(daylight, 0)
            # Node under TZ=UTC names the zone "Coordinated Universal Time"; the
            # glue mallocs winter's name, then summer's, and with equal offsets
            # stores tzname[0] = summer, tzname[1] = winter.
            name = b"Coordinated Universal Time\0"
            winter = mem.uptr(self.exports["malloc"](len(name)))
            mem.write(winter, name)
            summer = mem.uptr(self.exports["malloc"](len(name)))
            mem.write(summer, name)
            mem.set_i32(tzname, summer)
            mem.set_i32(tzname + 4, winter)
        else:
            timezone, daylight, std_name, dst_name = (mem.uptr(a) for a in args)
            mem.set_i32(timezone, 0)
            mem.set_i32(daylight, 0)
            # gen 3 takes the name from toTimeString() ("Coordinated Universal
            # Time") cut by stringToUTF8(name, ptr, 7); gen 4 from
            # toLocaleTimeString's short zone name ("UTC").
            name = b"Coordi\0" if self.fmt.gen == 3 else b"UTC\0"
            mem.write(std_name, name)
            mem.write(dst_name, name)

    def _strftime(self, s: int, maxsize: int, fmt: int, tm: int) -> int:
        mem = self.mem
        s, maxsize, fmt, tm = mem.uptr(s), mem.uptr(maxsize), mem.uptr(fmt), mem.uptr(tm)
        wide = self.fmt.memory64
        zone_ptr = mem.u64(tm + 48) if wide else mem.u32(tm + 40)
        fields = [mem.i32(tm + 4 * i) for i in range(9)]
        tm_value = _jsdate.Tm(
            *fields,
            tm_gmtoff=mem.i64(tm + 40) if wide else mem.i32(tm + 36),
            tm_zone=mem.cstring(zone_ptr).decode("utf-8", "replace"),
        )
        pattern = mem.cstring(fmt).decode("utf-8", "replace")
        out = _jsdate.strftime(pattern, tm_value).encode("utf-8") + b"\0"
        if len(out) > maxsize:
            return 0
        mem.write(s, out)
        return len(out) - 1

    def _strftime_l(self, s: int, maxsize: int, fmt: int, tm: int, _locale: int) -> int:
        return self._strftime(s, maxsize, fmt, tm)

    # -- memory -------------------------------------------------------------------
    def resize_heap(self, requested: int) -> int:
        """``_emscripten_resize_heap``: the glue's over-allocating growth policy."""
        mem = self.mem
        requested = mem.uptr(requested)
        old = mem.size()
        if requested > self.heap_max:
            return 0
        for cut in (1, 2, 4):
            overgrown = min(old * (1 + 0.2 / cut), requested + HEAP_OVERGROW_CAP)
            target = max(requested, overgrown)
            new_size = min(self.heap_max, target + (WASM_PAGE - math.fmod(target, WASM_PAGE)) % WASM_PAGE)
            pages = int((new_size - mem.size() + WASM_PAGE - 1) // WASM_PAGE)
            if mem.grow_pages(pages):
                return 1
        return 0

    def _memcpy(self, dest: int, src: int, num: int) -> None:
        mem = self.mem
        mem.move(mem.uptr(dest), mem.uptr(src), mem.uptr(num))

    def _get_heap_max(self) -> int:
        return self.heap_max

    # -- process --------------------------------------------------------------------
    def _abort(self) -> None:
        raise Abort("Aborted(native code called abort())")

    def _assert_fail(self, cond: int, filename: int, line: int, func: int) -> None:
        mem = self.mem
        text = mem.cstring(mem.uptr(cond)).decode("utf-8", "replace")
        where = mem.cstring(mem.uptr(filename)).decode("utf-8", "replace")
        fn = mem.cstring(mem.uptr(func)).decode("utf-8", "replace") if func else "unknown function"
        raise Abort(f"Aborted(Assertion failed: {text}, at: {where},{line},{fn})")

    def _exit(self, status: int) -> None:
        raise ExitStatus(status)

    def _dl_abort(self, *_args: int) -> int:
        raise Abort("Aborted(To use dlopen, you need enable dynamic linking, see "
                    "https://emscripten.org/docs/compiling/Dynamic-Linking.html)")

    def _dlinit(self, *_args: int) -> None:
        return None

    def _system(self, command: int) -> int:
        """The sealed host never runs a shell: ``system`` fails with ENOSYS.

        Gen 1/2 glue does exactly this; gen 3/4 under Node really spawn a shell
        (loader-abi.md §1), which aocu deliberately refuses: its non-Node branch
        answers the same way.
        """
        if not command:
            return 0
        if self.fmt.gen <= 2:
            self.mem.set_i32(self.mem.uptr(self.exports["__errno_location"]()), ENOSYS)
            return -1
        return -ENOSYS

    def _get_temp_ret0(self) -> int:
        return self.temp_ret0

    def _set_temp_ret0(self, value: int) -> None:
        self.temp_ret0 = value

    # -- environment -------------------------------------------------------------------
    def env_strings(self) -> list[bytes]:
        if self.fmt.gen >= 4:
            return []          # patched glue: no variables (loader/test/host.test.js)
        return [b"USER=web_user", b"LOGNAME=web_user", b"PATH=/", b"PWD=/", b"HOME=/home/web_user",
                b"LANG=C.UTF-8", b"_=" + self.options.this_program.encode()]

    def _environ_sizes_get(self, pcount: int, psize: int) -> int:
        mem = self.mem
        strings = self.env_strings()
        mem.set_ptr(mem.uptr(pcount), len(strings))
        mem.set_ptr(mem.uptr(psize), sum(len(s) + 1 for s in strings))
        return 0

    def _environ_get(self, penv: int, pbuf: int) -> int:
        mem = self.mem
        penv, pbuf = mem.uptr(penv), mem.uptr(pbuf)
        offset = 0
        for i, string in enumerate(self.env_strings()):
            mem.set_ptr(penv + i * mem.ptr_size, pbuf + offset)
            mem.write(pbuf + offset, string + b"\0")
            offset += len(string) + 1
        return 0

    # -- the table ---------------------------------------------------------------------
    def imports(self) -> dict[str, Callable[..., Any]]:
        gen = self.fmt.gen
        if gen == 1:
            get_now: Callable[[], float] = self._date_now_zero
        elif gen == 2:
            get_now = self._get_now_gen2
        else:
            get_now = self.now
        return {
            "abort": self._abort, "_abort_js": self._abort, "__assert_fail": self._assert_fail,
            "exit": self._exit, "proc_exit": self._exit,
            "_emscripten_date_now": self._date_now_zero if gen <= 2 else self.now,
            "emscripten_date_now": self.now,
            "emscripten_get_now": get_now,
            "_emscripten_get_now_is_monotonic": self._get_now_is_monotonic,
            "_gmtime_js": self._gmtime_js, "_localtime_js": self._localtime_js,
            "_mktime_js": self._mktime_js, "_tzset_js": self._tzset_js,
            "strftime": self._strftime, "strftime_l": self._strftime_l,
            "emscripten_resize_heap": self.resize_heap, "emscripten_get_heap_max": self._get_heap_max,
            "emscripten_memcpy_big": self._memcpy, "emscripten_memcpy_js": self._memcpy,
            "_emscripten_memcpy_js": self._memcpy,
            "environ_sizes_get": self._environ_sizes_get, "environ_get": self._environ_get,
            "system": self._system, "_emscripten_system": self._system,
            "getTempRet0": self._get_temp_ret0, "setTempRet0": self._set_temp_ret0,
            "_dlopen_js": self._dl_abort, "_dlsym_js": self._dl_abort, "_dlinit": self._dlinit,
        }
