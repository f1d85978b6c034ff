/*
 * sc_sandbox_enter (sandbox.h): OpenBSD-style privilege separation on Linux,
 * step by step, each step checked. The filter is built with libseccomp: the
 * default action is EPERM, so a forbidden call fails instead of killing a
 * daemon in the middle of a write; calls the caller names in `enosys` get
 * ENOSYS so that libc falls back to an older call the filter can inspect
 * (clone3 passes its flags in memory, clone in a register).
 */
#include "common/sandbox.h"

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

/* What any sandboxed part needs to keep running, whatever its job: memory,
 * clocks and sleeping, randomness, its own ids, signal return, exit. Each
 * caller adds the calls of its job. */
static const int base_allowed[] = {
    SCMP_SYS(brk),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(mprotect),
    SCMP_SYS(futex),
    SCMP_SYS(sched_yield),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(getrandom),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
};

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t count)
{
	/* A call this architecture lacks is negative: nothing to add. */
	for (size_t i = 0; i < count; i++) {
		int r = calls[i] >= 0 ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int user_drop(const char *user, struct sc_err *err)
{
	struct passwd *pw;

	if (!user || (getuid() != 0 && geteuid() != 0))
		return 0; /* nothing to become, or already unprivileged */
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
	if (setresuid(0, 0, 0) == 0) {
		sc_err_set(err, "sandbox: still able to regain root after becoming '%s'", user);
		return -EPERM;
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
	/* No core dump or ptrace of a process that held keys. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

static int filter_install(const struct sc_sandbox *box, struct sc_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = -ENOMEM;

	if (!ctx)
		goto out;
	if ((r = allow_all(ctx, base_allowed, sizeof(base_allowed) / sizeof(base_allowed[0]))) <
	        0 ||
	    (r = allow_all(ctx, box->allow, box->allow_count)) < 0)
		goto out;
	for (size_t i = 0; i < box->rule_count; i++) {
		const struct sc_sandbox_rule *rule = &box->rules[i];
		if (rule->syscall < 0)
			continue;
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, rule->syscall, 1,
		    SCMP_CMP(rule->arg, SCMP_CMP_MASKED_EQ, rule->mask, rule->value));
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < box->enosys_count; i++)
		if (box->enosys[i] >= 0 &&
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), box->enosys[i], 0)) < 0)
			goto out;
	if (box->all_threads && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	if (r < 0)
		sc_err_set(err, "sandbox: cannot install the seccomp filter: %s", strerror(-r));
	seccomp_release(ctx);
	return r;
}

int sc_sandbox_enter(const struct sc_sandbox *box, struct sc_err *err)
{
	int r;

	if (chdir("/") < 0) {
		sc_err_set(err, "sandbox: chdir /: %s", strerror(errno));
		return -errno;
	}
	r = user_drop(box->user, err);
	if (r == 0)
		r = capabilities_drop(err);
	if (r == 0)
		r = filter_install(box, err);
	return r;
}
