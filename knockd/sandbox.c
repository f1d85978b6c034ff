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
 * to run on half sandboxed. The steps are common/sandbox.c's; the list of
 * what the engine may still do is here.
 */
#include "knockd/sandbox.h"

#include <seccomp.h>

#include "common/sandbox.h"

static const int allowed[] = {
    SCMP_SYS(read),     SCMP_SYS(readv),   SCMP_SYS(write),    SCMP_SYS(writev),
    SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg), SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),  SCMP_SYS(poll),    SCMP_SYS(ppoll),
};

int knock_sandbox_enter(const char *user, struct sc_err *err)
{
	const struct sc_sandbox box = {
	    .user = user,
	    .allow = allowed,
	    .allow_count = sizeof(allowed) / sizeof(allowed[0]),
	};

	return sc_sandbox_enter(&box, err);
}
