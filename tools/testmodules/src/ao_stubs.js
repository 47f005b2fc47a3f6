// ao_stubs.js - declarations that let emcc 3.1.6 accept imports it does not
// know (they are provided by the ao-loader glue at run time).  The JS file
// emcc writes is thrown away; only the .wasm is kept.
// Copyright the aocu authors; MIT licence.
mergeInto(LibraryManager.library, {
  _emscripten_date_now: function () { return 0; },
  emscripten_date_now: function () { return 0; },
  _emscripten_memcpy_js: function (d, s, n) {},
  emscripten_memcpy_js: function (d, s, n) {},
  _abort_js: function () {},
  _emscripten_system: function (c) { return -52; },
  __asyncjs__weavedrive_open: function (p, m) { return 0; },
  __asyncjs__weavedrive_read: function (f, d, n) { return 0; },
  __asyncjs__weavedrive_close: function (f) { return 0; },
  _emscripten_get_now_is_monotonic: function () { return 1; },
  __syscall_newfstatat: function (d, p, b, f) { return 0; },
  metering_gasUsed: function () { return 0; },
});
