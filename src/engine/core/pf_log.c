/* pf_log.c: log sink (default: stderr, serialised by a mutex). */
#include "engine/core/pf_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pf_log_fn sink;
static void *sink_user;
static enum pf_log_level min_level = PF_LOG_INFO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void pf_log_set_sink(pf_log_fn fn, void *user)
{
    sink = fn;
    sink_user = user;
}

void pf_log_set_level(enum pf_log_level level)
{
    min_level = level;
}

void pf_log(enum pf_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (sink) {
        sink(level, buf, sink_user);
        return;
    }
    static const char *const tag[] = {"debug: ", "", "warning: ", "error: "};
    pthread_mutex_lock(&lock);
    fprintf(stderr, "%s%s\n", tag[level], buf);
    pthread_mutex_unlock(&lock);
}
