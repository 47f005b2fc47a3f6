/*
 * ao_compat.c - see ao_compat.h.  Definitions here replace functions that
 * emscripten 3.1.6 would otherwise import from its own JS library.
 *
 * Copyright the aocu authors; MIT licence.
 */
#include "ao_compat.h"

#include <emscripten.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* imports of the target glue                                          */

#define AT_FDCWD_ (-100)

AO_IMPORT("__syscall_openat") long ao_sys_openat(long dirfd, long path, long flags, long varargs);
AO_IMPORT("__syscall_unlinkat") long ao_sys_unlinkat(long dirfd, long path, long flags);
AO_IMPORT("__syscall_renameat") long ao_sys_renameat(long olddirfd, long oldpath, long newdirfd, long newpath);
AO_IMPORT("__syscall_mkdirat") long ao_sys_mkdirat(long dirfd, long path, long mode);
AO_IMPORT("__syscall_newfstatat") long ao_sys_newfstatat(long dirfd, long path, long buf, long flags);
AO_IMPORT("_emscripten_get_now_is_monotonic") int ao_now_is_monotonic(void);
AO_IMPORT("emscripten_get_now") double ao_imp_get_now(void);

#if AO_GEN == 2
AO_IMPORT("_emscripten_date_now") double ao_imp_date_now(void);
#elif AO_GEN == 3 || AO_GEN == 4
AO_IMPORT("emscripten_date_now") double ao_imp_date_now(void);
#if AO_GEN == 3
AO_IMPORT("emscripten_memcpy_js") void ao_imp_memcpy_js(void *dest, const void *src, size_t n);
#else
AO_IMPORT("_emscripten_memcpy_js") void ao_imp_memcpy_js(void *dest, const void *src, size_t n);
AO_IMPORT("_abort_js") void ao_imp_abort_js(void);
#endif
AO_IMPORT("_emscripten_system") int ao_imp_system(const char *cmd);
AO_IMPORT("_tzset_js") void ao_imp_tzset_js(long *timezone, int *daylight, char *std_name, char *dst_name);
AO_IMPORT("_localtime_js") void ao_imp_localtime_js(int32_t lo, int32_t hi, struct tm *tm);
AO_IMPORT("_gmtime_js") void ao_imp_gmtime_js(int32_t lo, int32_t hi, struct tm *tm);
AO_IMPORT("_mktime_js") int32_t ao_imp_mktime_js(struct tm *tm);
#else
#error "AO_GEN must be 2, 3 or 4"
#endif

double ao_date_now(void) { return ao_imp_date_now(); }
double ao_get_now(void) { return ao_imp_get_now(); }

/* ------------------------------------------------------------------ */
/* syscalls that 3.1.6's musl still issues in their pre-*at form        */

long __syscall_open(long path, long flags, long varargs) {
    return ao_sys_openat(AT_FDCWD_, path, flags, varargs);
}

long __syscall_unlink(long path) {
    return ao_sys_unlinkat(AT_FDCWD_, path, 0);
}

long __syscall_rename(long old_path, long new_path) {
    return ao_sys_renameat(AT_FDCWD_, old_path, AT_FDCWD_, new_path);
}

long __syscall_mkdir(long path, long mode) {
    return ao_sys_mkdirat(AT_FDCWD_, path, mode);
}

long __syscall_fstatat64(long dirfd, long path, long buf, long flags) {
    return ao_sys_newfstatat(dirfd, path, buf, flags);
}

/* ------------------------------------------------------------------ */
/* time                                                                 */

time_t time(time_t *t) {
    double now = ao_imp_date_now() / 1000.0;
    time_t r = (time_t)now;
    if (t) *t = r;
    return r;
}

double difftime(time_t t1, time_t t0) {
    return (double)t1 - (double)t0;
}

static int ao_fill_timespec(double ms, struct timespec *ts) {
    if (!(ms == ms)) { /* NaN (gen 2's emscripten_get_now under Node) */
        ts->tv_sec = 0;
        ts->tv_nsec = 0;
        return 0;
    }
    ts->tv_sec = (time_t)(ms / 1000.0);
    ts->tv_nsec = (long)((ms - (double)ts->tv_sec * 1000.0) * 1000000.0);
    return 0;
}

int clock_gettime(clockid_t clk, struct timespec *ts) {
    if (clk == CLOCK_REALTIME) return ao_fill_timespec(ao_imp_date_now(), ts);
    if ((clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW) && ao_now_is_monotonic())
        return ao_fill_timespec(ao_imp_get_now(), ts);
    errno = EINVAL;
    return -1;
}

int __clock_gettime(clockid_t clk, struct timespec *ts) {
    return clock_gettime(clk, ts);
}

clock_t clock(void) {
    static double start = -1.0;
    double now = ao_imp_get_now();
    if (!(now == now)) return (clock_t)-1;
    if (start < 0) start = now;
    return (clock_t)((now - start) * (CLOCKS_PER_SEC / 1000));
}

#if AO_GEN == 3 || AO_GEN == 4
/* ------------------------------------------------------------------ */
/* gen 3/4: the glues' newer shapes                                     */

void *emscripten_memcpy_big(void *dest, const void *src, size_t n) {
    ao_imp_memcpy_js(dest, src, n);
    return dest;
}

#if AO_GEN == 4
_Noreturn void abort(void) {
    ao_imp_abort_js();
    __builtin_unreachable();
}
#endif

int system(const char *cmd) {
    int r = ao_imp_system(cmd);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

static char ao_std_name[17];
static char ao_dst_name[17];

void _tzset_js(long *timezone, int *daylight, char **tzname) {
    static int done = 0;
    if (done) return;
    done = 1;
    ao_imp_tzset_js(timezone, daylight, ao_std_name, ao_dst_name);
    tzname[0] = ao_std_name;
    tzname[1] = ao_dst_name;
}

void _localtime_js(const time_t *t, struct tm *tm) {
    int32_t v = (int32_t)*t;
    ao_imp_localtime_js(v, v < 0 ? -1 : 0, tm);
}

void _gmtime_js(const time_t *t, struct tm *tm) {
    int32_t v = (int32_t)*t;
    ao_imp_gmtime_js(v, v < 0 ? -1 : 0, tm);
}

/* The gen 3/4 glues return i64 results split: low half as the result, high
 * half through an export (gen 3: setTempRet0, gen 4: _emscripten_tempret_set). */
static int32_t ao_tempret;

#if AO_GEN == 4
EMSCRIPTEN_KEEPALIVE void _emscripten_tempret_set(int32_t v) { ao_tempret = v; }
EMSCRIPTEN_KEEPALIVE int32_t _emscripten_tempret_get(void) { return ao_tempret; }
#endif

time_t _mktime_js(struct tm *tm) {
    return (time_t)ao_imp_mktime_js(tm);
}

/* emscripten 3.1.6's setjmp/longjmp lowering and i64 legalisation call
 * these; newer runtimes (and the gen 3/4 glues) keep them inside the module. */
void setTempRet0(int32_t v) { ao_tempret = v; }
int32_t getTempRet0(void) { return ao_tempret; }
#endif
