/* pf_status.h: error codes and the thread-local error message.
 *
 * Every fallible function returns PF_OK (0) or a negative -PF_E* code, and the failing site
 * records a message with pf_err_set(), which adds __FILE__:__LINE__. The message lives in a
 * thread-local buffer, so a worker thread's failure cannot clobber the main thread's message.
 * Library code never prints or exits: the CLI prints pf_err_msg(), the TUI shows it. */
#ifndef PF_ENGINE_CORE_PF_STATUS_H
#define PF_ENGINE_CORE_PF_STATUS_H

enum pf_status {
    PF_OK = 0,
    PF_ENOMEM = 1,       /* allocation failed */
    PF_EIO = 2,          /* file could not be read or written */
    PF_EPARSE = 3,       /* malformed input file (netdef, preset, model, dataset) */
    PF_EINVAL = 4,       /* bad argument or option value */
    PF_ESHAPE = 5,       /* tensor shapes do not fit */
    PF_EUNSUPPORTED = 6, /* valid request this build cannot do */
    PF_EDEVICE = 7,      /* accelerator or backend library failure */
    PF_ECANCELLED = 8,   /* the user cancelled */
};

/* Records code and a printf-style message, prefixed "file:line: " of the caller. Returns -code,
 * so a failing site can write `return PF_ERR(PF_EINVAL, "bad %d", x);`. */
int pf_err_set_at(const char *file, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define PF_ERR(code, ...) pf_err_set_at(__FILE__, __LINE__, (code), __VA_ARGS__)

/* The last message set on this thread ("" if none); valid until the next pf_err_* call. */
const char *pf_err_msg(void);
/* The message without the "src/...c:123: " prefix, for users. */
const char *pf_err_user_msg(void);
/* The last code set on this thread (positive), 0 if none. */
int pf_err_code(void);
/* Puts back a message saved from pf_err_msg() with its code (after cleanup that may fail). */
void pf_err_restore(int code, const char *msg);
/* Forgets the last error on this thread. */
void pf_err_clear(void);
/* Short name of a code: "out of memory", "parse error", ... */
const char *pf_status_str(int code);

/* Programmer errors only (invariants after validation). Calls the abort hook, which the TUI
 * sets to restore the terminal, then aborts. Never for anything a user can cause. */
typedef void (*pf_abort_fn)(const char *msg);
void pf_set_abort_hook(pf_abort_fn fn);
void pf_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define PF_ASSERT(x)    ((x) ? (void)0 : pf_assert_fail(#x, __FILE__, __LINE__))
#define PF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
