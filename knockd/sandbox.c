/*
 * The engine's sandbox, OpenBSD-style privilege separation on Linux: the
 * child that decrypts knocks and parses certificates gives up, in this
 * order, its user (when root: setgroups, setresgid, setresuid to the
 * configured user), every capability (capset to nothing, the ambient set
 * cleared), the right to gain any (no_new_privs), and every system call
 * outside an allow-list (seccomp, through libseccomp). What is left is
 * enough to read the NFLOG socket and the parent's socket it already holds,
 * write to them and to the log, poll, allocate, read clocks and random
 * bytes, and exit. Everything else fails with EPERM, so a parser bug cannot
 * open a file, make a socket, or run a program.
 *
 * Each step is checked; a step that fails leaves the caller to exit, never
 * to run on half sandboxed.
 */
#include "knockd/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

static const int allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(readv),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(recvmmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(close),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(futex),
    SCMP_SYS(brk),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(mprotect),
    SCMP_SYS(getrandom),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(sched_yield),
};

static int user_drop(const char *user, struct sc_err *err)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return 0; /* already unprivileged: keep the user, drop the rest */
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		sc_err_set(err, "sandbox: no user '%s'", user);
		return errno ? -errno : -ENOENT;
	}
	if (pw->pw_uid == 0) {
		sc_err_set(err, "sandbox: user '%s' is root", user);
		return -EPERM;
	}
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		sc_err_set(err, "sandbox: cannot become '%s': %s", user, strerror(errno));
		return -errno;
	}
	return 0;
}

static int capabilities_drop(struct sc_err *err)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		sc_err_set(err, "sandbox: cannot clear ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	if (syscall(SYS_capset, &header, data) < 0) {
		sc_err_set(err, "sandbox: cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		sc_err_set(err, "sandbox: cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int filter_install(struct sc_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = -ENOMEM;

	if (!ctx)
		goto out;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		/* A call this architecture lacks is negative: nothing to allow. */
		if (allowed[i] < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (r < 0)
			goto out;
	}
	r = seccomp_load(ctx);
out:
	if (r < 0)
		sc_err_set(err, "sandbox: cannot install the seccomp filter: %s", strerror(-r));
	seccomp_release(ctx);
	return r;
}

int knock_sandbox_enter(const char *user, struct sc_err *err)
{
	int r;

	if (chdir("/") < 0) {
		sc_err_set(err, "sandbox: chdir /: %s", strerror(errno));
		return -errno;
	}
	r = user_drop(user, err);
	if (r == 0)
		r = capabilities_drop(err);
	if (r == 0)
		r = filter_install(err);
	return r;
}
