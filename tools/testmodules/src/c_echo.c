/*
 * c_echo.c - a small ao process module in C that exercises the ao-loader
 * ABI: handle(msgJSON, envJSON) -> {"ok":...,"response":...}.
 *
 * The message's "Action" tag selects a handler (see README.md).  JSON is
 * handled by a tiny extractor: the host serialises messages like
 * JSON.stringify, so tags appear as {"name":"X","value":"Y"}.
 *
 * Copyright the aocu authors; MIT licence.
 */
#include <emscripten.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ao_compat.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* string builder                                                       */

typedef struct {
    char *p;
    size_t n, cap;
} sb_t;

static void sb_reserve(sb_t *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) abort();
    b->p = np;
    b->cap = cap;
}

static void sb_addn(sb_t *b, const char *s, size_t n) {
    sb_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_add(sb_t *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sb_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* append s as a JSON string literal */
static void sb_json_str(sb_t *b, const char *s) {
    sb_add(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': sb_add(b, "\\\""); break;
        case '\\': sb_add(b, "\\\\"); break;
        case '\n': sb_add(b, "\\n"); break;
        case '\r': sb_add(b, "\\r"); break;
        case '\t': sb_add(b, "\\t"); break;
        default:
            if (*c < 0x20) sb_printf(b, "\\u%04x", *c);
            else sb_addn(b, (const char *)c, 1);
        }
    }
    sb_add(b, "\"");
}

/* ------------------------------------------------------------------ */
/* tiny JSON extraction                                                 */

/* Return a malloc'd copy of the raw (still escaped) contents of the JSON
 * string that starts right after `key` in `json`, or NULL. */
static char *raw_string_after(const char *json, const char *key) {
    const char *p = strstr(json, key);
    if (!p) return NULL;
    p += strlen(key);
    const char *q = p;
    while (*q && *q != '"') {
        if (*q == '\\' && q[1]) q++;
        q++;
    }
    size_t n = (size_t)(q - p);
    char *r = malloc(n + 1);
    memcpy(r, p, n);
    r[n] = 0;
    return r;
}

static char *get_tag(const char *msg, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "{\"name\":\"%s\",\"value\":\"", name);
    return raw_string_after(msg, key);
}

static long tag_long(const char *msg, const char *name, long dflt) {
    char *v = get_tag(msg, name);
    if (!v) return dflt;
    long r = strtol(v, NULL, 10);
    free(v);
    return r;
}

/* ------------------------------------------------------------------ */
/* response assembly                                                    */

static char *last_result = NULL;

static const char *finish(sb_t *b) {
    free(last_result);
    last_result = b->p;
    return last_result;
}

/* {"ok":true,"response":{"Output":<output_json>,"Messages":[],...}} */
static const char *reply_json(const char *output_json) {
    sb_t b = {0};
    sb_add(&b, "{\"ok\":true,\"response\":{\"Output\":");
    sb_add(&b, output_json);
    sb_add(&b, ",\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}");
    return finish(&b);
}

static const char *reply_text(const char *text) {
    sb_t o = {0};
    sb_json_str(&o, text);
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

/* ------------------------------------------------------------------ */
/* process state kept in linear memory across messages                  */

static long counter = 0;
static int main_argc = -1;
static char main_argv[512];

typedef struct chunk {
    struct chunk *next;
    size_t size;
} chunk_t;
static chunk_t *kept = NULL;
static size_t kept_bytes = 0;

/* ------------------------------------------------------------------ */
/* setjmp / longjmp                                                     */

static jmp_buf *current_jb = NULL;

static void throw_value(int v) { longjmp(*current_jb, v); }

static void deep(void *depth, void *value) {
    int d = (int)(intptr_t)depth;
    if (d <= 0) throw_value((int)(intptr_t)value);
    deep((void *)(intptr_t)(d - 1), value);
}

static void no_throw(void *a, void *b) {
    (void)a;
    (void)b;
}

/* Run f(a, b); return 0 if it returned, else the longjmp value.  Only
 * void(void*, void*) calls happen inside the setjmp scope, so emscripten's
 * lowering needs invoke_vii only (the one the glues provide). */
static int protected_call(void (*f)(void *, void *), void *a, void *b) {
    jmp_buf jb;
    jmp_buf *prev = current_jb;
    current_jb = &jb;
    int r = setjmp(jb);
    if (r == 0) f(a, b);
    current_jb = prev;
    return r;
}

static void nested(void *out, void *unused) {
    (void)unused;
    int inner = protected_call(deep, (void *)3, (void *)7);
    *(int *)out = inner;
    throw_value(inner + 1);
}

static const char *do_jump(void) {
    int r1 = protected_call(deep, (void *)5, (void *)42);
    int r2 = protected_call(no_throw, NULL, NULL);
    int inner = 0;
    int r3 = protected_call(nested, &inner, NULL);
    char buf[128];
    snprintf(buf, sizeof buf, "longjmp: %d %d %d/%d", r1, r2, inner, r3);
    return reply_text(buf);
}

/* ------------------------------------------------------------------ */
/* handlers                                                             */

static const char *do_echo(const char *msg) {
    char *data = raw_string_after(msg, "\"Data\":\"");
    sb_t o = {0};
    sb_add(&o, "\"");
    sb_add(&o, data ? data : "");
    sb_add(&o, "\"");
    free(data);
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

static const char *do_alloc(const char *msg) {
    long mib = tag_long(msg, "Size", 1);
    size_t size = (size_t)mib << 20;
    chunk_t *c = malloc(sizeof(chunk_t) + size);
    char buf[160];
    if (!c) {
        snprintf(buf, sizeof buf, "alloc %ld MiB failed; kept %zu MiB", mib, kept_bytes >> 20);
        return reply_text(buf);
    }
    memset(c + 1, 0xA5, size);
    c->size = size;
    c->next = kept;
    kept = c;
    kept_bytes += size;
    snprintf(buf, sizeof buf, "allocated %ld MiB; kept %zu MiB", mib, kept_bytes >> 20);
    return reply_text(buf);
}

static const char *do_free(void) {
    size_t n = 0;
    while (kept) {
        chunk_t *c = kept;
        kept = c->next;
        free(c);
        n++;
    }
    kept_bytes = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "freed %zu chunks", n);
    return reply_text(buf);
}

static void tm_json(sb_t *o, const char *key, const struct tm *tm) {
    sb_printf(o,
              "\"%s\":[%d,%d,%d,%d,%d,%d,%d,%d,%d,%ld]", key, tm->tm_year, tm->tm_mon, tm->tm_mday,
              tm->tm_hour, tm->tm_min, tm->tm_sec, tm->tm_wday, tm->tm_yday, tm->tm_isdst,
              (long)tm->tm_gmtoff);
}

static const char *do_time(void) {
    sb_t o = {0};
    time_t now = time(NULL);
    clock_t c = clock();
    struct timespec rt, mono;
    int rrt = clock_gettime(CLOCK_REALTIME, &rt);
    int rmono = clock_gettime(CLOCK_MONOTONIC, &mono);
    sb_printf(&o, "{\"time\":%ld,\"clock\":%ld,\"realtime\":[%d,%ld,%ld],\"mono_rc\":%d", (long)now, (long)c,
              rrt, (long)rt.tv_sec, rt.tv_nsec, rmono);

    time_t fixed = 1709210096; /* 2024-02-29 12:34:56 UTC */
    struct tm g, l;
    gmtime_r(&fixed, &g);
    localtime_r(&fixed, &l);
    sb_add(&o, ",");
    tm_json(&o, "gmtime", &g);
    sb_add(&o, ",");
    tm_json(&o, "localtime", &l);

    char s[256];
    strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S %a %A %b %B %j %U %w %y %p %I %e|%D|%F|%T|%R|%%", &g);
    sb_add(&o, ",\"strftime\":");
    sb_json_str(&o, s);
    strftime(s, sizeof s, "%c|%x|%X|%z|%Z|%G-%V|%u|%C", &l);
    sb_add(&o, ",\"strftime_local\":");
    sb_json_str(&o, s);

    struct tm mk = {0};
    mk.tm_year = 124;
    mk.tm_mon = 1;
    mk.tm_mday = 29;
    mk.tm_hour = 12;
    mk.tm_min = 34;
    mk.tm_sec = 56;
    mk.tm_isdst = -1;
    time_t m = mktime(&mk);
    sb_printf(&o, ",\"mktime\":%ld", (long)m);
    sb_add(&o, ",");
    tm_json(&o, "mktime_tm", &mk);
    struct tm *z = gmtime(&now);
    sb_printf(&o, ",\"now_year\":%d,\"difftime\":%.1f", z->tm_year, difftime(fixed, 0));
    sb_printf(&o, ",\"tz\":[%ld,%d,", (long)timezone, daylight);
    sb_json_str(&o, tzname[0] ? tzname[0] : "");
    sb_add(&o, ",");
    sb_json_str(&o, tzname[1] ? tzname[1] : "");
    sb_add(&o, "]}");
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

/* Read 32 bytes from a random device; return the count or -errno.  The
 * bytes are random under Node (and zeros in aocu by default): only the count
 * is reported, and the buffer is wiped so memory stays comparable. */
static int read_device(const char *path) {
    unsigned char buf[32];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    volatile unsigned char *v = buf;
    for (size_t i = 0; i < sizeof buf; i++) v[i] = 0;
    return (int)n;
}

static const char *do_random(void) {
    int n1 = read_device("/dev/urandom");
    int n2 = read_device("/dev/random");
    char buf[160];
    snprintf(buf, sizeof buf, "urandom %d bytes, random %d bytes, rand() %d %d", n1, n2, rand() % 1000,
             rand() % 1000);
    return reply_text(buf);
}

static const char *do_env(void) {
    static const char *names[] = {"PATH", "HOME", "USER", "LOGNAME", "PWD", "LANG", "_", "TZ", NULL};
    sb_t o = {0};
    sb_add(&o, "{");
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        sb_printf(&o, "%s\"%s\":", i ? "," : "", names[i]);
        if (v) sb_json_str(&o, v);
        else sb_add(&o, "null");
    }
    int n = 0;
    for (char **e = environ; e && *e; e++) n++;
    sb_printf(&o, ",\"count\":%d}", n);
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

static const char *do_argv(void) {
    sb_t o = {0};
    sb_printf(&o, "{\"argc\":%d,\"argv\":", main_argc);
    sb_json_str(&o, main_argv);
    sb_add(&o, "}");
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

static const char *do_files(void) {
    sb_t o = {0};
    sb_add(&o, "[");
    int rc = mkdir("/tmp/aot", 0755);
    sb_printf(&o, "\"mkdir %d %d\"", rc, rc ? errno : 0);

    FILE *f = fopen("/tmp/aot/a.txt", "w");
    size_t w = f ? fwrite("hello, file\n", 1, 12, f) : 0;
    if (f) fclose(f);
    sb_printf(&o, ",\"write %d %zu\"", f != NULL, w);

    f = fopen("/tmp/aot/a.txt", "a+");
    if (f) {
        fputs("more\n", f);
        fseek(f, 0, SEEK_SET);
        char buf[64] = {0};
        size_t r = fread(buf, 1, sizeof buf - 1, f);
        long pos = ftell(f);
        fclose(f);
        sb_printf(&o, ",\"read %zu %ld\",", r, pos);
        sb_json_str(&o, buf);
    }

    rc = rename("/tmp/aot/a.txt", "/tmp/aot/b.txt");
    sb_printf(&o, ",\"rename %d\"", rc);
    struct stat st;
    rc = stat("/tmp/aot/b.txt", &st);
    sb_printf(&o, ",\"stat %d %lld %o\"", rc, (long long)st.st_size, (unsigned)(st.st_mode & 0777));
    rc = stat("/tmp/aot/a.txt", &st);
    sb_printf(&o, ",\"stat-old %d %d\"", rc, errno);

    rc = access("/tmp/aot/b.txt", R_OK);
    sb_printf(&o, ",\"access %d\"", rc);

    rc = remove("/tmp/aot/b.txt");
    sb_printf(&o, ",\"remove %d\"", rc);
    rc = remove("/tmp/aot/b.txt");
    sb_printf(&o, ",\"remove-again %d %d\"", rc, errno);
    rc = rmdir("/tmp/aot");
    sb_printf(&o, ",\"rmdir %d\"", rc);

    f = fopen("/nonexistent/x", "r");
    sb_printf(&o, ",\"missing %d\",", f == NULL);
    sb_json_str(&o, strerror(errno));

    f = tmpfile();
    if (f) {
        fputs("tmp data", f);
        rewind(f);
        char buf[32] = {0};
        size_t r = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        sb_printf(&o, ",\"tmpfile %zu\",", r);
        sb_json_str(&o, buf);
    } else {
        sb_printf(&o, ",\"tmpfile failed %d\"", errno);
    }

    /* stdio on the TTYs */
    int p = printf("c_echo stdout line\n");
    fflush(stdout);
    int q = fprintf(stderr, "c_echo stderr line\n");
    sb_printf(&o, ",\"tty %d %d %d\"", p, q, isatty(1));
    sb_add(&o, "]");
    const char *r = reply_json(o.p);
    free(o.p);
    return r;
}

static const char *do_system(void) {
    errno = 0;
    int r = system("echo hi > /tmp/c_echo_system_marker");
    int e = errno;
    int r0 = system(NULL);
    char buf[200];
    snprintf(buf, sizeof buf, "system %d errno %d (%s); system(NULL) %d", r, e, strerror(e), r0);
    return reply_text(buf);
}

static const char *do_big(const char *msg) {
    long mib = tag_long(msg, "Size", 8);
    size_t n = (size_t)mib << 20;
    sb_t b = {0};
    sb_reserve(&b, n + 128);
    sb_add(&b, "{\"ok\":true,\"response\":{\"Output\":\"");
    memset(b.p + b.n, 'x', n);
    b.n += n;
    b.p[b.n] = 0;
    sb_add(&b, "\",\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}");
    return finish(&b);
}

static const char *do_bomb(void) {
    size_t n = 0;
    chunk_t *list = NULL;
    for (;;) {
        chunk_t *c = malloc(1 << 20);
        if (!c) break;
        c->next = list;
        list = c;
        n++;
    }
    while (list) {
        chunk_t *c = list;
        list = c->next;
        free(c);
    }
    char buf[96];
    snprintf(buf, sizeof buf, "bomb: %zu MiB before malloc failed", n);
    return reply_text(buf);
}

static const char *do_messages(const char *msg) {
    char *from = raw_string_after(msg, "\"From\":\"");
    sb_t b = {0};
    sb_add(&b, "{\"ok\":true,\"response\":{\"Output\":{\"data\":\"sent\",\"prompt\":\"> \",\"n\":1.5},");
    sb_printf(&b,
              "\"Messages\":[{\"Target\":\"%s\",\"Data\":\"pong\",\"Tags\":[{\"name\":\"Action\","
              "\"value\":\"Pong\"}]}],",
              from ? from : "");
    sb_add(&b, "\"Spawns\":[{\"Data\":\"child\",\"Tags\":[{\"name\":\"Type\",\"value\":\"Process\"}]}],");
    sb_add(&b, "\"Assignments\":[{\"Processes\":[\"p1\",\"p2\"],\"Message\":\"m1\"}],");
    sb_add(&b, "\"Patches\":[{\"device\":\"patch@1.0\",\"cache\":{\"k\":\"v\"}}]}}");
    free(from);
    return finish(&b);
}

static const char *do_error_field(void) {
    sb_t b = {0};
    sb_add(&b, "{\"ok\":true,\"response\":{\"Output\":\"\",\"Error\":\"handled: something went wrong\","
               "\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}");
    return finish(&b);
}

static const char *do_fail(int as_object) {
    sb_t b = {0};
    if (as_object)
        sb_add(&b, "{\"ok\":false,\"response\":{\"code\":123,\"message\":\"deliberate failure\"}}");
    else
        sb_add(&b, "{\"ok\":false,\"response\":\"c_echo: deliberate failure\"}");
    return finish(&b);
}

static const char *do_unicode(void) {
    /* valid multi-byte UTF-8, then a lone 0xFF byte (UTF8ToString -> U+FFFD) */
    sb_t b = {0};
    sb_add(&b, "{\"ok\":true,\"response\":{\"Output\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 "
               "bad:\xff:end\",\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}");
    return finish(&b);
}

static const char *do_stats(void) {
    char buf[160];
    snprintf(buf, sizeof buf, "count=%ld kept=%zu heap=%zu", counter, kept_bytes,
             (size_t)__builtin_wasm_memory_size(0) << 16);
    return reply_text(buf);
}

#if AO_GEN == 4
static const char *do_weave(void) {
    int r1 = ao_weavedrive_open("/data/c_echo_missing", 0);
    int gas = ao_metering_gas_used();
    char buf[128];
    snprintf(buf, sizeof buf, "weavedrive_open -> %d; gas query %s", r1, gas >= 0 ? "ok" : "negative");
    return reply_text(buf);
}
#else
static const char *do_weave(void) { return reply_text("weavedrive: not in this format"); }
#endif

/* ------------------------------------------------------------------ */

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
    (void)env;
    counter++;
    char *action = get_tag(msg, "Action");
    const char *a = action ? action : "Echo";
    const char *r;
    if (!strcmp(a, "Echo")) r = do_echo(msg);
    else if (!strcmp(a, "Count")) {
        char buf[64];
        snprintf(buf, sizeof buf, "count=%ld", counter);
        r = reply_text(buf);
    } else if (!strcmp(a, "Alloc")) r = do_alloc(msg);
    else if (!strcmp(a, "Free")) r = do_free();
    else if (!strcmp(a, "Jump")) r = do_jump();
    else if (!strcmp(a, "Fail")) r = do_fail(0);
    else if (!strcmp(a, "FailObject")) r = do_fail(1);
    else if (!strcmp(a, "ErrorField")) r = do_error_field();
    else if (!strcmp(a, "Time")) r = do_time();
    else if (!strcmp(a, "Random")) r = do_random();
    else if (!strcmp(a, "Env")) r = do_env();
    else if (!strcmp(a, "Argv")) r = do_argv();
    else if (!strcmp(a, "Files")) r = do_files();
    else if (!strcmp(a, "System")) r = do_system();
    else if (!strcmp(a, "Big")) r = do_big(msg);
    else if (!strcmp(a, "Bomb")) r = do_bomb();
    else if (!strcmp(a, "Messages")) r = do_messages(msg);
    else if (!strcmp(a, "Unicode")) r = do_unicode();
    else if (!strcmp(a, "Stats")) r = do_stats();
    else if (!strcmp(a, "Weave")) r = do_weave();
    else if (!strcmp(a, "Empty")) {
        sb_t b = {0};
        sb_add(&b, "");
        r = finish(&b);
    } else if (!strcmp(a, "Loop")) {
        volatile unsigned long spin = 0;
        for (;;) spin++;
    } else if (!strcmp(a, "Abort")) abort();
    else if (!strcmp(a, "Exit")) exit(3);
    else if (!strcmp(a, "Trap")) __builtin_trap();
    else {
        sb_t b = {0};
        sb_add(&b, "{\"ok\":false,\"response\":");
        sb_json_str(&b, "unknown action");
        sb_add(&b, "}");
        r = finish(&b);
    }
    free(action);
    return r;
}

#if AO_GEN == 2 || AO_GEN == 3
int main(int argc, char **argv) {
    main_argc = argc;
    sb_t b = {0};
    for (int i = 0; i < argc; i++) {
        if (i) sb_add(&b, " ");
        sb_add(&b, argv[i]);
    }
    snprintf(main_argv, sizeof main_argv, "%s", b.p ? b.p : "");
    free(b.p);
    return 0;
}
#endif
