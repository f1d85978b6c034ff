/*
 * knockd's engine sandbox and its messages to the parent. After
 * knock_sandbox_enter -- the very call the engine makes before it reads a
 * datagram -- a child cannot open a file, make a socket of any family, or
 * run a program; it runs as the unprivileged user with no capability,
 * no_new_privs and a seccomp filter (as /proc says); and it can still use
 * the descriptors it holds. The parent's check of ACCEPT messages refuses
 * every malformed one. Needs root (to switch to the user "nobody").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "knockd/message.h"
#include "knockd/sandbox.h"

struct probe {
	int entered;
	int open_errno, openat_errno, inet_errno, netlink_errno, unix_errno, exec_errno;
};

static void test_sandboxed_child_cannot_open_files_or_sockets(void **state)
{
	int report[2], go[2];
	struct probe p = {0};
	char path[64], line[256], c = 0;
	bool uid = false, caps = false, nnp = false, seccomp = false;
	pid_t pid;
	FILE *f;
	int status;

	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sc_err err;
		p.entered = knock_sandbox_enter("nobody", &err);
		errno = 0;
		p.open_errno = open("/etc/hostname", O_RDONLY) < 0 ? errno : 0;
		p.openat_errno = openat(AT_FDCWD, "/tmp", O_RDONLY | O_DIRECTORY) < 0 ? errno : 0;
		p.inet_errno = socket(AF_INET, SOCK_DGRAM, 0) < 0 ? errno : 0;
		p.netlink_errno = socket(AF_NETLINK, SOCK_RAW, 0) < 0 ? errno : 0;
		p.unix_errno = socket(AF_UNIX, SOCK_STREAM, 0) < 0 ? errno : 0;
		execl("/bin/true", "true", (char *)NULL);
		p.exec_errno = errno;
		/* What it already holds still works. */
		if (write(report[1], &p, sizeof(p)) != sizeof(p))
			_exit(2);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(read(report[0], &p, sizeof(p)), sizeof(p));
	assert_int_equal(p.entered, 0);
	assert_int_equal(p.open_errno, EPERM);
	assert_int_equal(p.openat_errno, EPERM);
	assert_int_equal(p.inet_errno, EPERM);
	assert_int_equal(p.netlink_errno, EPERM);
	assert_int_equal(p.unix_errno, EPERM);
	assert_int_equal(p.exec_errno, EPERM);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Uid:", 4))
			uid = strstr(line, "\t0\t") == NULL && strncmp(line, "Uid:\t0", 6) != 0;
		if (!strncmp(line, "CapEff:", 7))
			caps = strstr(line, "0000000000000000") != NULL;
		if (!strncmp(line, "NoNewPrivs:", 11))
			nnp = strstr(line, "1") != NULL;
		if (!strncmp(line, "Seccomp:", 8))
			seccomp = strstr(line, "2") != NULL;
	}
	fclose(f);
	assert_true(uid);
	assert_true(caps);
	assert_true(nnp);
	assert_true(seccomp);
	assert_int_equal(write(go[1], &c, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static struct knock_msg_accept accept_sample(void)
{
	struct knock_msg_accept m;

	memset(&m, 0, sizeof(m));
	m.type = KNOCK_MSG_ACCEPT;
	m.family = KNOCK_ADDRESS_IPV4;
	m.protocol = 6;
	m.port = 2222;
	m.address[0] = 10;
	m.address[3] = 2;
	m.expires = 1000 + 31;
	strcpy(m.subject, "CN=alice,O=SafeCloud");
	strcpy(m.source, "10.0.0.2");
	return m;
}

static void expect_refused(struct knock_msg_accept m, const struct knock_ports *protect)
{
	struct knock_msg_accept out;

	assert_int_equal(knock_message_accept_check(&m, sizeof(m), protect, 1000, 30, &out),
	                 -EBADMSG);
}

static void test_parent_refuses_every_malformed_accept_message(void **state)
{
	struct knock_ports protect = {0};
	struct knock_msg_accept m = accept_sample(), out;
	uint8_t longer[sizeof(m) + 1] = {0};

	assert_int_equal(knock_ports_parse("tcp/2222", &protect), 0);
	assert_int_equal(knock_message_accept_check(&m, sizeof(m), &protect, 1000, 30, &out), 0);
	assert_int_equal(out.port, 2222);
	/* Exact length only. */
	assert_int_equal(knock_message_accept_check(&m, sizeof(m) - 1, &protect, 1000, 30, &out),
	                 -EBADMSG);
	memcpy(longer, &m, sizeof(m));
	assert_int_equal(
	    knock_message_accept_check(longer, sizeof(longer), &protect, 1000, 30, &out), -EBADMSG);
	/* Each field. */
	m = accept_sample(), m.type = 'X', expect_refused(m, &protect);
	m = accept_sample(), m.zero = 1, expect_refused(m, &protect);
	m = accept_sample(), m.family = 5, expect_refused(m, &protect);
	m = accept_sample(), m.address[4] = 1, expect_refused(m, &protect); /* IPv4 padding */
	m = accept_sample(), m.protocol = 1, expect_refused(m, &protect);
	m = accept_sample(), m.port = 2223, expect_refused(m, &protect); /* not protected */
	m = accept_sample(), m.protocol = 17, expect_refused(m, &protect);
	m = accept_sample(), m.expires = 0, expect_refused(m, &protect);
	m = accept_sample(), m.expires = 1000 + 61 + 1, expect_refused(m, &protect);
	m = accept_sample(), memset(m.subject, 'a', sizeof(m.subject)), expect_refused(m, &protect);
	m = accept_sample(), m.subject[3] = '"', expect_refused(m, &protect);
	m = accept_sample(), m.source[2] = '\n', expect_refused(m, &protect);
	m = accept_sample(), m.source[40] = 'x', expect_refused(m, &protect); /* after the NUL */
	knock_ports_free(&protect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sandboxed_child_cannot_open_files_or_sockets),
	    cmocka_unit_test(test_parent_refuses_every_malformed_accept_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
