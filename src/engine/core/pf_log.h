/* pf_log.h: the log sink. Library code reports through pf_log(); the default sink writes to
 * stderr, the TUI installs its own so nothing writes to the terminal while curses owns it. */
#ifndef PF_ENGINE_CORE_PF_LOG_H
#define PF_ENGINE_CORE_PF_LOG_H

enum pf_log_level { PF_LOG_DEBUG, PF_LOG_INFO, PF_LOG_WARN, PF_LOG_ERROR };

typedef void (*pf_log_fn)(enum pf_log_level level, const char *msg, void *user);

/* Installs fn (NULL restores the stderr sink). Not thread-safe: set it before starting workers. */
void pf_log_set_sink(pf_log_fn fn, void *user);
/* Messages below level are dropped (default PF_LOG_INFO). */
void pf_log_set_level(enum pf_log_level level);
void pf_log(enum pf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
