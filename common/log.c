/*
 * The process's log: one lock guards the destination and the level, and each
 * message is formatted into one buffer and written with one write(2), so lines
 * from several threads never interleave. This is the one piece of global
 * mutable state the suite allows itself (as Ceph's dout does): the log belongs
 * to the process, not to a handle.
 */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock; /* guards everything below */
	int fd;               /* 2 for stderr */
	int level;
	char program[32];
	char path[4096];
} the_log = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = 2,
    .level = SC_LOG_WARN,
    .program = "safecloud",
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int open_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

int sc_log_open(const char *program, const char *path, int level)
{
	int fd = 2;

	if (path && strcmp(path, "-") != 0) {
		if (strlen(path) >= sizeof(the_log.path))
			return -ENAMETOOLONG;
		fd = open_path(path);
		if (fd < 0)
			return fd;
	}
	pthread_mutex_lock(&the_log.lock);
	if (the_log.fd > 2)
		close(the_log.fd);
	the_log.fd = fd;
	the_log.level = level;
	snprintf(the_log.program, sizeof(the_log.program), "%s", program ? program : "safecloud");
	snprintf(the_log.path, sizeof(the_log.path), "%s", fd > 2 ? path : "");
	pthread_mutex_unlock(&the_log.lock);
	return 0;
}

int sc_log_reopen(void)
{
	int r = 0;

	pthread_mutex_lock(&the_log.lock);
	if (the_log.path[0]) {
		int fd = open_path(the_log.path);
		if (fd < 0) {
			r = fd;
		} else {
			close(the_log.fd);
			the_log.fd = fd;
		}
	}
	pthread_mutex_unlock(&the_log.lock);
	return r;
}

void sc_log_close(void)
{
	pthread_mutex_lock(&the_log.lock);
	if (the_log.fd > 2)
		close(the_log.fd);
	the_log.fd = 2;
	the_log.path[0] = '\0';
	pthread_mutex_unlock(&the_log.lock);
}

void sc_log_set_level(int level)
{
	pthread_mutex_lock(&the_log.lock);
	the_log.level = level;
	pthread_mutex_unlock(&the_log.lock);
}

int sc_log_get_level(void)
{
	int level;

	pthread_mutex_lock(&the_log.lock);
	level = the_log.level;
	pthread_mutex_unlock(&the_log.lock);
	return level;
}

int sc_log_level_parse(const char *text)
{
	if (!text)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(text, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(text, "warning") == 0)
		return SC_LOG_WARN;
	if (text[0] >= '0' && text[0] <= '9' && text[1] == '\0')
		return text[0] - '0' > SC_LOG_DEBUG ? SC_LOG_DEBUG : text[0] - '0';
	return -EINVAL;
}

void sc_vlog(int level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec now;
	struct tm tm;
	size_t len;
	int n, saved_errno = errno;

	pthread_mutex_lock(&the_log.lock);
	if (level > the_log.level)
		goto out;
	if (level < 0)
		level = 0;
	if (level > SC_LOG_DEBUG)
		level = SC_LOG_DEBUG;
	/* Ceph's own timestamp form: 2026-11-27T07:10:41.123+0000 */
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len,
	             ".%03ld+0000 %s[%d] %s: ", now.tv_nsec / 1000000, the_log.program,
	             (int)getpid(), level_names[level]);
	len += (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		goto out;
	len = (size_t)n >= sizeof(line) - len ? sizeof(line) - 1 : len + (size_t)n;
	/* One message, one line: fold embedded newlines so log parsers see one record. */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	if (write(the_log.fd, line, len) < 0) {
		/* Nowhere left to report it; drop the line. */
	}
out:
	pthread_mutex_unlock(&the_log.lock);
	errno = saved_errno;
}

void sc_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc_vlog(level, fmt, ap);
	va_end(ap);
}
