/*
 * The status socket: a unix stream socket (mode 0600, so only its owner and
 * root may ask) that answers every client with one JSON document and closes,
 * as a Ceph admin socket answers "status". One thread accepts; the document
 * comes from the command's callback, which does its own locking.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "common/util.h"

#define STATUS_MAX (1 << 20)

int guard_buf_printf(struct guard_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
}

int guard_buf_json_string(struct guard_buf *b, const char *text)
{
	int r = guard_buf_printf(b, "\"");

	for (const unsigned char *p = (const unsigned char *)text; r == 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			r = guard_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			r = guard_buf_printf(b, "\\u%04x", *p);
		else
			r = guard_buf_printf(b, "%c", *p);
	}
	return r ? r : guard_buf_printf(b, "\"");
}

struct guard_status_server {
	int fd, stop_pipe[2];
	char path[108];
	guard_status_fn *fn;
	void *arg;
	pthread_t thread;
};

static void *status_thread(void *arg)
{
	struct guard_status_server *s = arg;

	for (;;) {
		struct pollfd fds[2] = {{s->fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		char *json = NULL;
		if (s->fn(s->arg, &json) == 0 && json) {
			sc_write_all(c, json, strlen(json));
			free(json);
		}
		close(c);
	}
	return NULL;
}

int guard_status_open(const char *path, guard_status_fn *fn, void *arg,
                      struct guard_status_server **out)
{
	struct guard_status_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	s->fn = fn;
	s->arg = arg;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	unlink(path); /* a socket left by a killed predecessor */
	mode_t old = umask(0177);
	r = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(s->fd, 16) < 0) {
		r = -errno;
		goto fail;
	}
	r = -pthread_create(&s->thread, NULL, status_thread, s);
	if (r < 0) {
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->stop_pipe[0] >= 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	free(s);
	return r;
}

void guard_status_close(struct guard_status_server *s)
{
	if (!s)
		return;
	(void)!write(s->stop_pipe[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	unlink(s->path);
	free(s);
}

int guard_status_query(const char *path, char **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct guard_buf b = {0};
	char chunk[4096];
	int fd, r = 0;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > STATUS_MAX) {
			r = -EFBIG;
			goto out;
		}
		if ((r = guard_buf_printf(&b, "%.*s", (int)n, chunk)) < 0)
			goto out;
	}
	if (!b.data)
		r = -ENODATA;
out:
	close(fd);
	if (r < 0)
		free(b.data);
	else
		*out = b.data;
	return r;
}

static const char status_usage[] =
    "usage: rbd-mirror-guard status SOCKET\n"
    "  prints the JSON status of the serve or connect behind SOCKET\n";

int guard_cmd_status(int argc, char **argv)
{
	char *json = NULL;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		fputs(status_usage, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	r = guard_status_query(argv[1], &json);
	if (r < 0) {
		fprintf(stderr, "rbd-mirror-guard: status socket %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	fputs(json, stdout);
	free(json);
	return 0;
}
