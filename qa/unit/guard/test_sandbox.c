/*
 * serve's sandbox (rbd-mirror-guard/sandbox.c), entered exactly as serve
 * enters it after start-up: the process cannot run a program, fork, create
 * or write a file, or open a unix or netlink socket -- and neither can a
 * thread that existed before (librados' threads do); what the relay needs
 * still works: reading a file (the CRL on SIGHUP), inet sockets, new
 * threads. It runs as nobody with seccomp on. Needs root; skipped under
 * valgrind, which cannot run a seccomp-filtered process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

struct probe {
	int entered;
	int exec_errno, fork_errno, create_errno, write_errno, unix_errno, netlink_errno;
	int old_thread_exec_errno;
	bool read_ok, inet_ok, thread_ok;
	char uid_line[256], seccomp_line[256];
};

static int old_thread_go[2], old_thread_done[2];

static int errno_of(int r)
{
	return r < 0 ? errno : 0;
}

/* A thread started before the sandbox, as librados' are. */
static void *old_thread(void *arg)
{
	struct probe *p = arg;
	char c;

	if (read(old_thread_go[0], &c, 1) != 1)
		return NULL;
	execl("/bin/true", "true", (char *)NULL);
	p->old_thread_exec_errno = errno;
	(void)!write(old_thread_done[1], &c, 1);
	return NULL;
}

static void *new_thread(void *arg)
{
	return arg;
}

static void proc_line(const char *key, char *out, size_t size)
{
	char line[200];
	FILE *f = fopen("/proc/self/status", "r");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			snprintf(out, size, "%s", line);
	if (f)
		fclose(f);
}

static void child(int report)
{
	struct probe p = {0};
	struct sc_err err;
	pthread_t old, fresh;
	char c = 0, buf[16];
	int fd;

	if (pipe(old_thread_go) < 0 || pipe(old_thread_done) < 0 ||
	    pthread_create(&old, NULL, old_thread, &p) != 0)
		_exit(2);
	p.entered = guard_serve_sandbox_enter("nobody", &err);
	execl("/bin/true", "true", (char *)NULL);
	p.exec_errno = errno;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	p.fork_errno = errno_of(pid);
	p.create_errno = errno_of(open("/tmp/grd-sandbox-probe", O_WRONLY | O_CREAT, 0600));
	p.write_errno = errno_of(open("/dev/null", O_WRONLY));
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	p.read_ok = fd >= 0 && read(fd, buf, sizeof(buf)) >= 0;
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	p.inet_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	p.unix_errno = errno_of(socket(AF_UNIX, SOCK_STREAM, 0));
	p.netlink_errno = errno_of(socket(AF_NETLINK, SOCK_RAW, 0));
	p.thread_ok =
	    pthread_create(&fresh, NULL, new_thread, NULL) == 0 && pthread_join(fresh, NULL) == 0;
	if (write(old_thread_go[1], &c, 1) != 1 || read(old_thread_done[0], &c, 1) != 1)
		_exit(3);
	pthread_join(old, NULL);
	proc_line("Uid:", p.uid_line, sizeof(p.uid_line));
	proc_line("Seccomp:", p.seccomp_line, sizeof(p.seccomp_line));
	if (write(report, &p, sizeof(p)) != sizeof(p))
		_exit(4);
	_exit(0);
}

static void test_sandboxed_serve_cannot_exec_fork_or_create_files(void **state)
{
	struct probe p;
	char expect[64];
	int report[2], status;
	pid_t pid;

	/* Valgrind implements neither seccomp(2) nor a filtered process: the
	 * plain run (suite unit) is the one that proves this. */
	if (geteuid() != 0 || RUNNING_ON_VALGRIND)
		skip();
	unlink("/tmp/grd-sandbox-probe");
	assert_int_equal(pipe(report), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(report[1]);
	close(report[1]);
	assert_int_equal(read(report[0], &p, sizeof(p)), sizeof(p));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(p.entered, 0);
	assert_int_equal(p.exec_errno, EPERM);
	assert_int_equal(p.fork_errno, EPERM);
	assert_int_equal(p.create_errno, EPERM);
	assert_int_equal(p.write_errno, EPERM);
	assert_int_equal(p.unix_errno, EPERM);
	assert_int_equal(p.netlink_errno, EPERM);
	assert_int_equal(p.old_thread_exec_errno, EPERM);
	assert_true(p.read_ok);
	assert_true(p.inet_ok);
	assert_true(p.thread_ok);
	assert_string_equal(p.seccomp_line, "Seccomp:\t2\n");
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	snprintf(expect, sizeof(expect), "Uid:\t%u\t%u\t%u\t%u\n", pw->pw_uid, pw->pw_uid,
	         pw->pw_uid, pw->pw_uid);
	assert_string_equal(p.uid_line, expect);
	assert_int_equal(access("/tmp/grd-sandbox-probe", F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sandboxed_serve_cannot_exec_fork_or_create_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
