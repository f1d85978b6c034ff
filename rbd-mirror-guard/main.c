/*
 * rbd-mirror-guard: per-pool RBD mirroring through a knock-protected,
 * mutually authenticated TLS tunnel (docs/guard.md). A command table in the
 * manner of wireguard-tools' wg.c, and the few helpers the commands share:
 * one error line, a TCP connect with a deadline, the signal self-pipe.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "common/log.h"
#include "config.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} commands[] = {
    {"serve", guard_cmd_serve, "the primary's end of the tunnel (with knockd in front)"},
    {"connect", guard_cmd_connect, "the secondary's end: knock, tunnel, redirect rbd-mirror"},
    {"pool", guard_cmd_pool, "pool enable|disable|status: mirroring set up on both clusters"},
    {"status", guard_cmd_status, "the JSON status of a running serve or connect"},
    {"check", guard_cmd_check, "load a configuration file and say whether it is valid"},
};

int guard_cmd_check(int argc, char **argv)
{
	struct guard_config *config;
	struct sc_err err;

	if (argc != 2 || argv[1][0] == '-') {
		fputs("usage: rbd-mirror-guard check CONFIG\n", stderr);
		return 2;
	}
	if (guard_config_load(argv[1], &config, &err) < 0)
		return guard_fail("%s", err.msg);
	printf("%s: ok (%s%s%s)\n", argv[1], config->has_serve ? "serve" : "",
	       config->has_serve && config->has_connect ? ", " : "",
	       config->has_connect ? "connect" : "");
	guard_config_free(config);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rbd-mirror-guard COMMAND [OPTIONS]   (COMMAND --help for its options)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].description);
}

int guard_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("rbd-mirror-guard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int guard_tcp_connect(const struct guard_addr *a, unsigned mark, double seconds)
{
	struct sockaddr_storage ss;
	socklen_t len = guard_addr_to_sockaddr(a, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r, one = 1;

	if (fd < 0)
		return -errno;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		struct pollfd p = {fd, POLLOUT, 0};
		r = poll(&p, 1, (int)(seconds * 1000));
		if (r == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	/* Back to blocking: the handshake runs with timeouts, the relay sets its own mode. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int guard_daemon_start(int argc, char **argv, const char *usage, const char *group,
                       const char **max_rate, struct guard_config **config)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},   {"max-rate", required_argument, NULL, 'r'},
	    {"log-file", required_argument, NULL, 'l'}, {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	const char *path = "/etc/ceph/rbd-mirror-guard.conf", *log_file = NULL, *level_name;
	char absolute[PATH_MAX];
	struct sc_err err = {{0}};
	bool is_serve = !strcmp(group, "serve");
	int opt, level = -1;

	*config = NULL;
	while ((opt = getopt_long(argc, argv, max_rate ? "c:r:l:dh" : "c:l:dh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'r':
			if (!max_rate)
				goto usage;
			*max_rate = optarg;
			break;
		case 'l':
			log_file = optarg;
			break;
		case 'd':
			level = SC_LOG_DEBUG;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (realpath(path, absolute))
		path = absolute;
	if (guard_config_load(path, config, &err) < 0)
		return guard_fail("%s", err.msg);
	if (!(is_serve ? (*config)->has_serve : (*config)->has_connect)) {
		guard_fail("%s: no '%s' group", path, group);
		goto fail;
	}
	level_name = is_serve ? (*config)->serve.log_level : (*config)->connect.log_level;
	if (level < 0)
		level = level_name ? sc_log_level_parse(level_name) : SC_LOG_INFO;
	if (level < 0) {
		guard_fail("%s: log_level '%s' is unknown", path, level_name);
		goto fail;
	}
	if (!log_file)
		log_file = is_serve ? (*config)->serve.log_file : (*config)->connect.log_file;
	if (sc_log_open("rbd-mirror-guard", log_file, level) < 0) {
		guard_fail("cannot open the log file %s", log_file ? log_file : "(stderr)");
		goto fail;
	}
	return -1;
usage:
	fputs(usage, stderr);
	return 2;
fail:
	guard_config_free(*config);
	*config = NULL;
	return 1;
}

void guard_flow_start(void *(*fn)(void *), void *arg, int fd, _Atomic long *active)
{
	pthread_attr_t attr;
	pthread_t t;
	int r = pthread_attr_init(&attr);

	(*active)++;
	if (r == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, fn, arg);
		pthread_attr_destroy(&attr);
	}
	if (r != 0) {
		(*active)--;
		close(fd);
		free(arg);
	}
}

void guard_flows_wait(const _Atomic long *count)
{
	/* Flows see stop within a poll interval; give them a moment to end. */
	for (int i = 0; i < 30 && *count > 0; i++)
		usleep(100000);
}

static int signal_write_fd = -1;

static void on_signal(int signo)
{
	unsigned char c = (unsigned char)signo;
	int saved = errno;

	(void)!write(signal_write_fd, &c, 1);
	errno = saved;
}

int guard_signals_open(int pipe_fds[2])
{
	struct sigaction sa = {.sa_handler = on_signal};

	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	signal_write_fd = pipe_fds[1];
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("rbd-mirror-guard %s\n", SC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	guard_fail("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
