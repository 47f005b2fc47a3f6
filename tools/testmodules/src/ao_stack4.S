# ao_stack4.S - the stack-manipulation exports the gen 4 glue calls by their
# newer names (_emscripten_stack_restore, _emscripten_stack_alloc).  Same
# code as emscripten 3.1.6's stackRestore/stackAlloc.
# Copyright the aocu authors; MIT licence.

.globl _emscripten_stack_restore
.globl _emscripten_stack_alloc

.globaltype __stack_pointer, i32

_emscripten_stack_restore:
  .functype _emscripten_stack_restore(i32) -> ()
  local.get 0
  global.set __stack_pointer
  end_function

_emscripten_stack_alloc:
  .functype _emscripten_stack_alloc(i32) -> (i32)
  .local i32
  global.get __stack_pointer
  local.get 0
  i32.sub
  i32.const 0xfffffff0
  i32.and
  local.tee 1
  global.set __stack_pointer
  local.get 1
  end_function
