/*
 * Real micro Ceph clusters for integration tests, through qa/cluster/micro-ceph.
 * The clusters of a running test are remembered in one static pointer so the
 * exit and signal handlers can stop them: a crashed test leaves no daemon.
 */
#include "testbed.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct testbed *running; /* the one testbed the handlers must stop */

const char *testbed_micro_ceph(void)
{
	const char *env = getenv("MICRO_CEPH");
	return env ? env : MICRO_CEPH;
}

static int run_status(const char *cmd)
{
	int status = system(cmd);

	if (status < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void stop_running(void)
{
	if (running)
		testbed_stop(running);
}

static void on_signal(int sig)
{
	stop_running();
	signal(sig, SIG_DFL);
	raise(sig);
}

int testbed_start(struct testbed *tb, const char *prefix, int count, const char *const *pools)
{
	char cmd[4096];
	const char *tmp = getenv("TMPDIR");
	size_t len;

	memset(tb, 0, sizeof(*tb));
	if (count < 1 || count > TESTBED_MAX_CLUSTERS)
		return -1;
	snprintf(tb->dir, sizeof(tb->dir), "%s/sc-testbed-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(tb->dir)) {
		perror("testbed: mkdtemp");
		return -1;
	}
	tb->count = count;
	len =
	    (size_t)snprintf(cmd, sizeof(cmd), "%s start --dir %s", testbed_micro_ceph(), tb->dir);
	for (const char *const *p = pools; p && *p; p++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " --pool %s", *p);
	for (int i = 0; i < count; i++) {
		snprintf(tb->names[i], sizeof(tb->names[i]), "%s%d", prefix, i + 1);
		snprintf(tb->conf[i], sizeof(tb->conf[i]), "%s/%s.conf", tb->dir, tb->names[i]);
		snprintf(tb->keyring[i], sizeof(tb->keyring[i]), "%s/%s.client.admin.keyring",
		         tb->dir, tb->names[i]);
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s", tb->names[i]);
	}
	snprintf(cmd + len, sizeof(cmd) - len, " >/dev/null");
	running = tb;
	atexit(stop_running);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);
	if (run_status(cmd) != 0) {
		fprintf(stderr, "testbed: '%s' failed\n", cmd);
		testbed_stop(tb);
		return -1;
	}
	return 0;
}

static int cluster_command(struct testbed *tb, int index, const char *what)
{
	char cmd[1024];

	if (index < 0 || index >= tb->count)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s %s --dir %s %s", testbed_micro_ceph(), what, tb->dir,
	         tb->names[index]);
	return run_status(cmd) == 0 ? 0 : -1;
}

int testbed_kill(struct testbed *tb, int index)
{
	return cluster_command(tb, index, "stop");
}

int testbed_revive(struct testbed *tb, int index)
{
	return cluster_command(tb, index, "restart");
}

int testbed_freeze(struct testbed *tb, int index)
{
	return cluster_command(tb, index, "freeze");
}

int testbed_thaw(struct testbed *tb, int index)
{
	return cluster_command(tb, index, "thaw");
}

void testbed_stop(struct testbed *tb)
{
	char cmd[1024];

	if (!tb->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "%s stop --dir %s; rm -rf %s", testbed_micro_ceph(), tb->dir,
	         tb->dir);
	if (run_status(cmd) != 0)
		fprintf(stderr, "testbed: stopping %s failed\n", tb->dir);
	tb->dir[0] = '\0';
	if (running == tb)
		running = NULL;
}

int testbed_run(const struct testbed *tb, int index, const char *fmt, ...)
{
	char args[2048], cmd[3072];
	va_list ap;

	if (index < 0 || index >= tb->count)
		return -1;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* "rados -p X ls" -> "rados -c DIR/NAME.conf -p X ls" */
	const char *space = strchr(args, ' ');
	size_t tool = space ? (size_t)(space - args) : strlen(args);
	snprintf(cmd, sizeof(cmd), "%.*s -c %s%s", (int)tool, args, tb->conf[index],
	         space ? space : "");
	return run_status(cmd);
}
