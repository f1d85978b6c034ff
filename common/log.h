/*
 * Logging for the suite's programs, in the manner of Ceph's daemons: one line a
 * message, filtered by level, to stderr or to a file, whole lines even when
 * several threads log at once. Quiet by default: only warnings and errors.
 *
 * Libraries never print; they return -errno. Only programs (and the daemons'
 * own code) call these functions. Secrets never reach a log line.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>

enum sc_log_level {
	SC_LOG_ERROR = 0,
	SC_LOG_WARN = 1,
	SC_LOG_INFO = 2,
	SC_LOG_DEBUG = 3,
};

/*
 * Starts logging for PROGRAM. PATH NULL or "-" means stderr; otherwise the file
 * is opened for appending (and reopened by sc_log_reopen, for logrotate).
 * Returns 0 or -errno. Before sc_log_open, messages go to stderr at WARN.
 */
int sc_log_open(const char *program, const char *path, int level);
int sc_log_reopen(void);
void sc_log_close(void);
void sc_log_set_level(int level);
int sc_log_get_level(void);
/*
 * "error", "warn" (or "warning"), "info", "debug", or a digit as Ceph's debug
 * levels are written (0 error ... 3 and above debug); -EINVAL otherwise.
 */
int sc_log_level_parse(const char *text);

void sc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define sc_log_error(...) sc_log(SC_LOG_ERROR, __VA_ARGS__)
#define sc_log_warn(...) sc_log(SC_LOG_WARN, __VA_ARGS__)
#define sc_log_info(...) sc_log(SC_LOG_INFO, __VA_ARGS__)
#define sc_log_debug(...) sc_log(SC_LOG_DEBUG, __VA_ARGS__)

#endif
