/*
 * Entering a sandbox, for the parts of the suite that run on after start-up
 * with less power than they started with (knockd's engine, rbd-mirror-guard
 * serve): the user, every capability, no_new_privs, and a seccomp filter
 * built from the caller's allow-list. Each part states its own list next to
 * its code; this file only knows how to apply one.
 */
#ifndef SC_SANDBOX_H
#define SC_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A system call allowed only when argument ARG, masked with MASK, is VALUE
 * (SYSCALL from SCMP_SYS; negative when this architecture lacks it). */
struct sc_sandbox_rule {
	int syscall;
	unsigned arg;
	uint64_t mask, value;
};

struct sc_sandbox {
	const char *user; /* when root: become this user; NULL keeps the uid */
	const int *allow; /* system calls allowed with any arguments */
	size_t allow_count;
	const struct sc_sandbox_rule *rules; /* allowed with one argument matched */
	size_t rule_count;
	const int *enosys; /* answered ENOSYS (libc then falls back: clone3) */
	size_t enosys_count;
	bool all_threads; /* apply to every thread of the process (TSYNC) */
};

/*
 * Enters BOX for good, in this order: chdir /, the user (setgroups,
 * setresgid, setresuid; never to root), every capability (effective,
 * permitted, inheritable, ambient), no_new_privs, the filter. Everything
 * the filter does not allow fails with EPERM. 0 or -errno (ERR names the
 * step); on failure the caller must exit, never run on half sandboxed.
 */
int sc_sandbox_enter(const struct sc_sandbox *box, struct sc_err *err);

#endif
