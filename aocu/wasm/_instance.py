"""One live process instance: a wasmtime store, its imports, and ``handle``.

Owns a `wasmtime.Store` and everything bound to it (glue state, MEMFS, gas
meter, longjmp helper). Runs on one thread at a time (whichever calls
``handle``); concurrent use of one instance is refused, not serialised.
``handle`` copies no memory: memory is copied only by `memory_snapshot` and
by `Module.instantiate` when it is given one. Start at `Instance.handle`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import wasmtime

from . import _epoch, _fs
from ._asyncify import AsyncifyDriver
from ._errors import HandleError, ModuleLinkError, WasmError, _Signal
from ._formats import GEN1_EXPORT_NAMES
from ._glue import EmscriptenGlue
from ._helpers import FIRST_DYNCALL_SLOT, SLOT_SET_THREW, SLOT_STACK_RESTORE, SLOT_STACK_SAVE
from ._inline import GAS_LIMIT_EXPORT, GAS_USED_EXPORT, TEMP_RET0_EXPORT
from ._memory import LinearMemory
from ._raw import RawCall, RawGlobal, host_func
from ._traps import handle_error_from_trap

if TYPE_CHECKING:
    from ._module import Module

# Stack cookies the glue's writeStackCookie() stores (gen 2+).
_STACK_COOKIE_1 = 0x02135467
_STACK_COOKIE_2 = 0x89BACDFE
_EMSC_MAGIC = 0x63736D65   # 'emsc' at address 0
# Exports that return at once (a few instructions on the stack pointer): called keeping the GIL.
_NO_DEADLINE = contextlib.nullcontext()
_STACK_EXPORTS = frozenset({"stackSave", "stackRestore", "stackAlloc", "emscripten_stack_get_current",
                            "_emscripten_stack_restore", "_emscripten_stack_alloc"})


@dataclass(frozen=True, slots=True)
class HostState:
    """Host-side state of an instance between messages (see `Instance.host_state`)."""

    date_now: int
    temp_ret0: int
    tzset_done: bool
    fs: Any                       # a detached MemFS copy
    weavedrive_sizes: dict[str, int]


class Instance:
    """A booted instance of a `Module`, ready to ``handle`` messages in order."""

    def __init__(self, module: Module) -> None:
        self.module = module
        fmt = module.format
        self.format = fmt
        self._store = store = wasmtime.Store(module.engine)
        _epoch.no_deadline(store)
        if module.memory_limit is not None:
            store.set_limits(memory_size=module.memory_limit)
        self._keepalive: list[object] = []
        self._host_error: BaseException | None = None
        self._busy = threading.Lock()
        self._poisoned: str | None = None
        self.glue = glue = EmscriptenGlue(fmt, module.options, heap_max=module.heap_max)
        self.stdout = glue.stdout

        impls = glue.imports()
        self.fs = module.fs_factory(glue)
        self.asyncify = AsyncifyDriver(self)
        impls.update(self.asyncify.imports(module.extensions.get("WeaveDrive")))
        impls["metering_gasUsed"] = self._metering_gas_used
        if module.temp_ret0_inlined:
            # the module keeps tempRet0 in a global now; any other way in (a table) must see the same value
            impls["getTempRet0"] = lambda: self._temp_ret0.get()
            impls["setTempRet0"] = lambda value: self._temp_ret0.set(value)
        # FS imports need the memory, which exists only after instantiation:
        # bind them through a late-bound table.
        late: dict[str, Callable[..., Any]] = {}

        def late_bound(name: str) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                return late[name](*args)
            return call

        gas = None if module.gas_inlined else self._instantiate_gas_meter()
        longjmp = self._instantiate_longjmp_helper()
        externs: list[wasmtime.Func] = []
        for imp in module.function_imports:
            if imp.canonical == "usegas" and imp.module == "metering":
                externs.append(gas["usegas_i64" if imp.params[0] == "i64" else "usegas_i32"] if gas is not None
                               else host_func(store, imp.functype, self._usegas_slow, self, self._keepalive))
            elif longjmp is not None and imp.canonical in module.longjmp_served:
                externs.append(longjmp[imp.canonical if imp.canonical != "_emscripten_throw_longjmp"
                                       else "throw_longjmp"])
            elif imp.canonical in impls:
                externs.append(host_func(store, imp.functype, impls[imp.canonical], self, self._keepalive))
            elif imp.canonical in module.fs_import_names:
                externs.append(host_func(store, imp.functype, late_bound(imp.canonical), self,
                                         self._keepalive))
            else:  # Module checked this at load time
                raise ModuleLinkError(f"import {imp.module}.{imp.name} is not provided by {fmt.name}")
        try:
            self._instance = wasmtime.Instance(store, module.wasm_module, externs)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise ModuleLinkError(f"cannot instantiate module: {exc}") from exc

        raw_exports = self._instance.exports(store)
        names = GEN1_EXPORT_NAMES if fmt.gen == 1 else {}
        self._ex: dict[str, Any] = {}
        self._funcs: dict[str, wasmtime.Func] = {}
        for export in module.wasm_module.exports:
            item = raw_exports[export.name]
            name = names.get(export.name, export.name)
            if isinstance(item, wasmtime.Func):
                self._funcs[name] = item
                self._ex[name] = RawCall(store, item, hold_gil=name in _STACK_EXPORTS)
            else:
                self._ex[name] = item
        memory = self._ex.get("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise ModuleLinkError("module exports no memory")
        self.mem = LinearMemory(store, memory, fmt.memory64)
        if module.gas_inlined:
            self._gas_used = RawGlobal(store, self._ex[GAS_USED_EXPORT])
            self._gas_limit = self._clamped_limit()
            self._ex[GAS_LIMIT_EXPORT].set_value(store, wasmtime.Val.i64(self._gas_limit))
        if module.temp_ret0_inlined:
            self._temp_ret0 = RawGlobal(store, self._ex[TEMP_RET0_EXPORT])
        glue.mem = self.mem
        glue.exports = self._ex
        if fmt.gen == 4:
            self._stack_save = self._ex["emscripten_stack_get_current"]
            self._stack_restore = self._ex["_emscripten_stack_restore"]
            self._stack_alloc = self._ex["_emscripten_stack_alloc"]
        else:
            self._stack_save = self._ex["stackSave"]
            self._stack_restore = self._ex["stackRestore"]
            self._stack_alloc = self._ex["stackAlloc"]
        self._handle = self._ex["handle"]
        self._late_fs = late
        self._rebind_fs()
        if longjmp is not None:
            self._link_longjmp_helper(longjmp)
        self._boot()

    def _rebind_fs(self) -> None:
        self._late_fs.update(self.module.make_fs_imports(self.mem, self.fs, self._ex))

    # -- helpers ---------------------------------------------------------------
    def record_host_error(self, exc: BaseException) -> None:
        if self._host_error is None:
            self._host_error = exc

    def _instantiate_gas_meter(self) -> Any:
        def out_of_gas() -> None:
            from ._errors import OutOfGas
            raise OutOfGas()

        store = self._store
        oog = host_func(store, wasmtime.FuncType([], []), out_of_gas, self, self._keepalive)
        exports = wasmtime.Instance(store, self.module.gas_module, [oog]).exports(store)
        self._gas_used = RawGlobal(store, exports["used"])
        exports["limit"].set_value(store, wasmtime.Val.i64(self._clamped_limit()))
        return exports

    def _clamped_limit(self) -> int:
        return min(int(self.module.compute_limit), (1 << 63) - 1)

    def _over_gas_limit(self) -> bool:
        """Past the limit after an inlined run (see _inline: the module checks only at loop tops)."""
        return self.module.gas_inlined and self.gas_used > self._gas_limit

    def _check_gas(self) -> None:
        if self._over_gas_limit():
            from ._errors import OutOfGas
            raise OutOfGas()

    def _usegas_slow(self, amount: int) -> None:
        """``metering.usegas`` reached other than through an inlined call (see _inline): same meaning."""
        from ._errors import OutOfGas
        used = (self.gas_used + amount + (1 << 63)) % (1 << 64) - (1 << 63)      # i64.add wraps
        self._gas_used.set(used)
        if used > self._gas_limit:
            raise OutOfGas()

    def _instantiate_longjmp_helper(self) -> Any:
        if self.module.longjmp_module is None:
            return None
        return wasmtime.Instance(self._store, self.module.longjmp_module, []).exports(self._store)

    def _link_longjmp_helper(self, helper: Any) -> None:
        store = self._store
        services = helper["services"]
        plan = self.module.longjmp_plan
        funcs = self._funcs
        if self.format.gen == 4:
            save, restore = funcs["emscripten_stack_get_current"], funcs["_emscripten_stack_restore"]
        else:
            save, restore = funcs["stackSave"], funcs["stackRestore"]
        services.set(store, SLOT_STACK_SAVE, save)
        services.set(store, SLOT_STACK_RESTORE, restore)
        services.set(store, SLOT_SET_THREW, funcs["setThrew"])
        for i, name in enumerate(plan.dyncall_exports):
            services.set(store, FIRST_DYNCALL_SLOT + i, funcs[name])
        if plan.uses_table:
            table = self._ex["__indirect_function_table"]
            linker = wasmtime.Instance(store, self.module.table_link_module, [table, helper["table"]])
            size = min(table.size(store), helper["table"].size(store))
            linker.exports(store)["link"](store, size)

    def _metering_gas_used(self) -> int:
        return self.gas_used

    @property
    def gas_used(self) -> int:
        return self._gas_used.get()

    # -- boot ------------------------------------------------------------------------
    def _boot(self) -> None:
        fmt, ex, mem = self.format, self._ex, self.mem
        try:
            with _epoch.deadline(self._store, self.module.options.deadline_s):
                if fmt.gen >= 2:
                    ex["emscripten_stack_init"]()
                    end = mem.uptr(ex["emscripten_stack_get_end"]())
                    if end == 0:
                        end += 4
                    mem.set_i32(end, _STACK_COOKIE_1)
                    mem.set_i32(end + 4, _STACK_COOKIE_2)
                    mem.set_i32(0, _EMSC_MAGIC)
                ex["__wasm_call_ctors"]()
                self._check_gas()
                if fmt.calls_main and "main" in ex:
                    self._call_main()
                    self._check_gas()
                if fmt.gen == 4:
                    self.fs_make_data_dir()
        except HandleError:
            raise
        except Exception as exc:
            raise self._translate(exc) from None

    def fs_make_data_dir(self) -> None:
        # ao-loader: `await instance['FS_createPath']('/', 'data')` (gen 4, wasm64)
        self.fs.create_path("/", "data")

    def _call_main(self) -> None:
        from ._errors import ExitStatus
        main = self._ex["main"]
        try:
            if self.format.gen != 2:
                main(0, 0)                  # gen 1/3 callMain: argc = argv = 0
                return
            args = [self.module.options.this_program, *self.module.options.argv]
            mem = self.mem
            argv = mem.uptr(self._stack_alloc((len(args) + 1) * 4))
            for i, arg in enumerate(args):
                data = arg.encode() + b"\0"
                ptr = mem.uptr(self._stack_alloc(len(data)))
                mem.write(ptr, data)
                mem.set_i32(argv + 4 * i, ptr)
            mem.set_i32(argv + 4 * len(args), 0)
            main(len(args), argv)
        except Exception as exc:
            # noExitRuntime: the glue swallows main's ExitStatus
            if not isinstance(self._host_error or exc, ExitStatus):
                raise
            self._host_error = None

    # -- handle ------------------------------------------------------------------------
    def handle(self, message: dict[str, Any], env: dict[str, Any], *, env_text: str | None = None) -> dict[str, Any]:
        """Evaluate one message, as ao-loader's ``handle(null, msg, env)`` would.

        ``env_text`` is ``stringify(env)`` when the caller already has it: a stream's env is the
        same for every message, and encoding it cost ~20 µs per message. The caller owns that
        text (it is not cached here, where a mutated ``env`` could not be noticed).
        """
        if not self._busy.acquire(blocking=False):
            raise WasmError("instance is already handling a message on another thread")
        try:
            if self._poisoned is not None:
                raise WasmError(f"instance is unusable after a failed message ({self._poisoned})")
            try:
                return self._handle_once(message, env, env_text)
            except HandleError as exc:
                self._poisoned = exc.kind
                raise
        finally:
            self._busy.release()

    def _handle_once(self, message: dict[str, Any], env: dict[str, Any], env_text: str | None) -> dict[str, Any]:
        module = self.module
        self.glue.block_height = message.get("Block-Height")
        self._gas_used.set(0)                                              # gas.refill()
        msg_text = module.stringify(message)
        if env_text is None:
            env_text = module.stringify(env)
        self._host_error = None
        deadline_s = module.options.deadline_s
        try:
            # without a deadline the store's is already "never" (_epoch.no_deadline): no context
            # manager on the per-message path
            with _epoch.deadline(self._store, deadline_s) if deadline_s is not None else _NO_DEADLINE:
                sp = self._stack_save()
                p_msg = self._write_string(msg_text)
                p_env = self._write_string(env_text)
                ret = self.asyncify.call_export(self._handle, p_msg, p_env)
                self._check_gas()
                self._stack_restore(sp)
                gas_used = self.gas_used        # stackRestore is metered too: GasUsed counts it
                text = self._read_string(self.mem.uptr(ret))
        except HandleError:
            raise
        except Exception as exc:
            raise self._translate(exc) from None
        try:
            outcome = module.parse(text)
        except ValueError:
            raise HandleError(_json_parse_error(text), kind="host") from None
        response = outcome.get("response") if isinstance(outcome, dict) else None
        if not isinstance(outcome, dict) or not outcome.get("ok"):
            raise HandleError(response, kind="response")
        return self._result(response if isinstance(response, dict) else {}, gas_used)

    @staticmethod
    def _result(response: dict[str, Any], gas_used: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in ("Error", "Output", "Messages", "Spawns", "Assignments"):
            if key in response:
                result[key] = response[key]
        patches = response.get("Patches")
        result["Patches"] = patches if patches else []
        result["GasUsed"] = gas_used
        return result

    def _write_string(self, text: str) -> int:
        data = self.module.encode_utf8(text)
        if self.format.gen <= 2:
            # ccall's toC.string reserves (UTF-16 length << 2) + 1 bytes
            size = (self.module.utf16_length(text) << 2) + 1
        else:
            size = len(data) + 1                         # stringToUTF8OnStack
        ptr = self.mem.uptr(self._stack_alloc(size))
        self.mem.write(ptr, data + b"\0")
        return ptr

    def _read_string(self, ptr: int) -> str:
        """``UTF8ToString(ptr)``, including the glue's quirks for short strings."""
        raw = self.mem.cstring(ptr)
        if len(raw) <= 16:     # the hand decoder may look up to 2 bytes past the NUL
            tail = self.mem.read(ptr + len(raw), min(3, self.mem.size() - ptr - len(raw)))
            return self.module.decode_utf8(raw + tail)
        return self.module.decode_utf8(raw + b"\0")

    def _translate(self, exc: BaseException) -> HandleError:
        """Turn whatever stopped wasm into the loader's thrown value."""
        cause = self._host_error or exc
        self._host_error = None
        if self._over_gas_limit():
            # the per-block check would have stopped it before whatever stopped it now
            from ._errors import OutOfGas
            cause = OutOfGas()
        if isinstance(cause, HandleError):
            return cause
        if isinstance(cause, _Signal):
            return HandleError(cause.loader_value(), kind=cause.kind)
        if isinstance(cause, wasmtime.Trap):
            return handle_error_from_trap(cause, self.module.options.deadline_s)
        if isinstance(cause, wasmtime.WasmtimeError):
            return HandleError(str(cause).splitlines()[0], kind="trap")
        return HandleError(f"{type(cause).__name__}: {cause}", kind="host")

    # -- host-side state ------------------------------------------------------------------
    def host_state(self) -> HostState:
        """What the glue keeps outside linear memory, captured between messages.

        Together with a memory snapshot it lets another instance of the same
        module continue exactly where this one is (deterministic replay).
        """
        glue = self.glue
        temp_ret0 = self._temp_ret0.get() if self.module.temp_ret0_inlined else glue.temp_ret0
        return HostState(glue.date_now, temp_ret0, glue.tzset_done, _fs.detached_copy(self.fs),
                         dict(self.asyncify.drive_sizes()))

    def restore_host_state(self, state: HostState) -> None:
        glue = self.glue
        glue.date_now, glue.temp_ret0, glue.tzset_done = state.date_now, state.temp_ret0, state.tzset_done
        if self.module.temp_ret0_inlined:
            self._temp_ret0.set(state.temp_ret0)
        self.fs = _fs.attached_copy(state.fs, self.module.options, glue)
        self.asyncify.restore_drive_sizes(state.weavedrive_sizes)
        # FS imports look the filesystem up through this instance on every call
        self._rebind_fs()

    # -- memory ------------------------------------------------------------------------
    def close(self) -> None:
        """Free the linear memory now, not at the next cycle collection (the import closures make
        every instance a reference cycle, so a dropped 1 GiB instance would linger). Unusable after."""
        self._poisoned = "closed"
        self._store.close()

    def memory_snapshot(self) -> bytes:
        """A copy of the whole linear memory (what the loader returns as ``Memory``)."""
        return self.mem.snapshot()

    def memory_size(self) -> int:
        return self.mem.size()

    def restore_memory(self, memory: bytes | bytearray | memoryview) -> None:
        """The loader's ``buffer`` path: grow by the glue's policy if smaller, then copy."""
        if self.mem.size() < len(memory):
            self.glue.resize_heap(len(memory))
        if self.mem.size() < len(memory):
            raise WasmError(f"cannot grow memory to the snapshot's {len(memory)} bytes")
        self.mem.restore(memory)


def _json_parse_error(text: str) -> str:
    if not text:
        return "Unexpected end of JSON input"
    try:
        json.loads(text)
    except ValueError as exc:
        return str(exc)
    return "invalid JSON"
