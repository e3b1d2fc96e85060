/* pf_status.c: the thread-local error message behind PF_ERR and the assert hook. */
#include "engine/core/pf_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char err_buf[1024];
static _Thread_local int err_code;
static pf_abort_fn abort_hook;

int pf_err_set_at(const char *file, int line, int code, const char *fmt, ...)
{
    const char *base = strstr(file, "src/");
    int n = snprintf(err_buf, sizeof err_buf, "%s:%d: ", base ? base : file, line);
    if (n < 0 || (size_t)n >= sizeof err_buf)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf + n, sizeof err_buf - (size_t)n, fmt, ap);
    va_end(ap);
    err_code = code;
    return -code;
}

const char *pf_err_msg(void)
{
    return err_buf;
}

const char *pf_err_user_msg(void)
{
    /* skip the "dir/file.c:123: " prefix that pf_err_set_at wrote */
    const char *p = strstr(err_buf, ".c:");
    if (!p || memchr(err_buf, ' ', (size_t)(p - err_buf)))
        return err_buf;
    p += 3;
    while (*p >= '0' && *p <= '9')
        p++;
    return p[0] == ':' && p[1] == ' ' ? p + 2 : err_buf;
}

int pf_err_code(void)
{
    return err_code;
}

void pf_err_restore(int code, const char *msg)
{
    snprintf(err_buf, sizeof err_buf, "%s", msg);
    err_code = code;
}

void pf_err_clear(void)
{
    err_buf[0] = 0;
    err_code = 0;
}

const char *pf_status_str(int code)
{
    static const char *const names[] = {
        [PF_OK] = "ok",
        [PF_ENOMEM] = "out of memory",
        [PF_EIO] = "i/o error",
        [PF_EPARSE] = "parse error",
        [PF_EINVAL] = "invalid argument",
        [PF_ESHAPE] = "shape mismatch",
        [PF_EUNSUPPORTED] = "unsupported",
        [PF_EDEVICE] = "device error",
        [PF_ECANCELLED] = "cancelled",
    };
    if (code < 0)
        code = -code;
    return (size_t)code < PF_ARRAY_LEN(names) && names[code] ? names[code] : "unknown error";
}

void pf_set_abort_hook(pf_abort_fn fn)
{
    abort_hook = fn;
}

void pf_assert_fail(const char *expr, const char *file, int line)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s:%d: internal error: assertion '%s' failed", file, line, expr);
    if (abort_hook)
        abort_hook(msg);
    fputs(msg, stderr);
    fputc('\n', stderr);
    abort();
}
